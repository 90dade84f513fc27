// The Go floor's server (packages/bench/src/produce-floor.ts): answers every Kafka request frame
// at once with the same canned Produce v9 response under the request's correlation id, doing no
// other work, one goroutine per connection. Arguments: the port (0 for any) and the response
// body in hex; prints "listening PORT".
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
)

// Size prefix, correlation id, response header v1's empty tagged fields.
const headBytes = 4 + 4 + 1

func serve(connection net.Conn, body []byte) {
	defer connection.Close()
	reader := bufio.NewReaderSize(connection, 64*1024)
	prefix := make([]byte, 4)
	for {
		if _, err := io.ReadFull(reader, prefix); err != nil {
			return
		}
		request := make([]byte, binary.BigEndian.Uint32(prefix))
		if _, err := io.ReadFull(reader, request); err != nil || len(request) < 8 {
			return
		}
		frame := make([]byte, headBytes+len(body))
		binary.BigEndian.PutUint32(frame, uint32(headBytes-4+len(body)))
		copy(frame[4:8], request[4:8])
		copy(frame[headBytes:], body)
		if _, err := connection.Write(frame); err != nil {
			return
		}
	}
}

func main() {
	body, err := hex.DecodeString(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "response body:", err)
		os.Exit(2)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:"+os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening %d\n", listener.Addr().(*net.TCPAddr).Port)
	for {
		connection, err := listener.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		go serve(connection, body)
	}
}
