// Package lineproto implements the driver side of packages/testing/DRIVER-PROTOCOL.md: one JSON
// command per stdin line, one JSON answer per stdout line, in order, nothing else on stdout.
package lineproto

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"runtime/debug"
	"time"
)

// Header is one record header on the wire: ["name", "base64"|null].
type Header [2]*string

// Record is a record on the wire; Offset and Topic only appear in answers.
type Record struct {
	Topic     string   `json:"topic,omitempty"`
	Partition int32    `json:"partition"`
	Offset    *int64   `json:"offset,omitempty"`
	Key       *string  `json:"key"`
	Value     *string  `json:"value"`
	Headers   []Header `json:"headers"`
	Timestamp *int64   `json:"timestamp,omitempty"`
}

// Transaction is one element of transactionalProduce's `transactions`.
type Transaction struct {
	Records []Record `json:"records"`
	Commit  bool     `json:"commit"`
}

// Command holds the fields of every op; each op reads the ones it needs.
type Command struct {
	ID              int64             `json:"id"`
	Op              string            `json:"op"`
	Bootstrap       string            `json:"bootstrap"`
	TimeoutMs       int64             `json:"timeoutMs"`
	Topic           string            `json:"topic"`
	Partitions      int32             `json:"partitions"`
	Configs         map[string]string `json:"configs"`
	Records         []Record          `json:"records"`
	Compression     string            `json:"compression"`
	Idempotent      *bool             `json:"idempotent"`
	ExpectedCount   int               `json:"expectedCount"`
	IsolationLevel  string            `json:"isolationLevel"`
	Partition       int32             `json:"partition"`
	Spec            json.RawMessage   `json:"spec"`
	BeforeOffset    int64             `json:"beforeOffset"`
	GroupID         string            `json:"groupId"`
	Topics          []string          `json:"topics"`
	GroupProtocol   string            `json:"groupProtocol"`
	InstanceID      string            `json:"instanceId"`
	DurationMs      int64             `json:"durationMs"`
	MaxRecords      int               `json:"maxRecords"`
	TransactionalID string            `json:"transactionalId"`
	Transactions    []Transaction     `json:"transactions"`
}

// Timeout is the command's bound, with a default when the test sent none.
func (c *Command) Timeout() time.Duration {
	if c.TimeoutMs <= 0 {
		return 60 * time.Second
	}
	return time.Duration(c.TimeoutMs) * time.Millisecond
}

// ReadCommitted says whether the command asks for read_committed (the protocol's default).
func (c *Command) ReadCommitted() bool { return c.IsolationLevel != "read_uncommitted" }

// IsIdempotent is the produce flag; absent means the client's default, idempotent.
func (c *Command) IsIdempotent() bool { return c.Idempotent == nil || *c.Idempotent }

// ProducerKey names a cached producer: its settings are fixed when the client is built, so a
// produce with other settings needs another producer.
type ProducerKey struct {
	Bootstrap, Compression string
	Idempotent             bool
}

// ProducerKey is the cached producer a produce command uses.
func (c *Command) ProducerKey() ProducerKey {
	return ProducerKey{c.Bootstrap, c.Compression, c.IsIdempotent()}
}

// OffsetSpec is listOffsets' spec: "earliest", "latest" or a timestamp.
type OffsetSpec struct {
	Earliest, Latest bool
	Timestamp        int64
}

// ParseSpec decodes listOffsets' `spec`.
func (c *Command) ParseSpec() (OffsetSpec, error) {
	var name string
	if err := json.Unmarshal(c.Spec, &name); err == nil {
		switch name {
		case "earliest":
			return OffsetSpec{Earliest: true}, nil
		case "latest":
			return OffsetSpec{Latest: true}, nil
		}
		return OffsetSpec{}, fmt.Errorf("unknown offset spec %q", name)
	}
	var ts int64
	if err := json.Unmarshal(c.Spec, &ts); err != nil {
		return OffsetSpec{}, fmt.Errorf("spec must be \"earliest\", \"latest\" or a number: %s", c.Spec)
	}
	return OffsetSpec{Timestamp: ts}, nil
}

// Unsupported marks an op the client cannot do; the answer's error starts with "Unsupported: ".
type Unsupported struct{ Reason string }

func (u *Unsupported) Error() string { return u.Reason }

// Failure is an error with the Kafka error name the client exposed, if any.
type Failure struct {
	Message string
	Code    string
}

// Handler runs one command; a non-nil error becomes an error answer.
type Handler func(cmd *Command) (any, error)

// Describer turns an error into the answer's "Type: message" text and Kafka error name.
type Describer func(err error) Failure

// answer is a map so a success always carries "result" (null included) and a failure never does.
type answer map[string]any

func failed(id int64, message, code string) answer {
	reply := answer{"id": id, "ok": false, "error": message}
	if code != "" {
		reply["code"] = code
	}
	return reply
}

// ModuleVersion reads a dependency's version from the binary's build info.
func ModuleVersion(path string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, dep := range info.Deps {
		if dep.Path == path {
			if dep.Replace != nil {
				return dep.Replace.Version
			}
			return dep.Version
		}
	}
	return "unknown"
}

// Serve prints the ready line, then answers commands until EOF on stdin, then calls closeAll.
func Serve(client, version string, handle Handler, describe Describer, closeAll func()) {
	log.SetOutput(os.Stderr)
	out := json.NewEncoder(os.Stdout)
	out.SetEscapeHTML(false)
	ready := map[string]any{"ready": true, "client": client, "version": version}
	if err := out.Encode(ready); err != nil {
		os.Exit(1)
	}
	in := bufio.NewReader(os.Stdin)
	for {
		line, err := in.ReadBytes('\n')
		if len(line) > 0 {
			if encodeErr := out.Encode(run(line, handle, describe)); encodeErr != nil {
				log.Printf("writing answer: %v", encodeErr)
				break
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				log.Printf("reading stdin: %v", err)
			}
			break
		}
	}
	closeAll()
}

func run(line []byte, handle Handler, describe Describer) (reply answer) {
	var cmd Command
	if err := json.Unmarshal(line, &cmd); err != nil {
		return failed(cmd.ID, fmt.Sprintf("BadCommand: %v", err), "")
	}
	defer func() {
		// A client panic must not end the driver: it becomes this command's error answer.
		if p := recover(); p != nil {
			log.Printf("panic in %s: %v\n%s", cmd.Op, p, debug.Stack())
			reply = failed(cmd.ID, fmt.Sprintf("panic: %v", p), "")
		}
	}()
	result, err := handle(&cmd)
	if err == nil {
		return answer{"id": cmd.ID, "ok": true, "result": result}
	}
	var unsupported *Unsupported
	if errors.As(err, &unsupported) {
		return failed(cmd.ID, "Unsupported: "+unsupported.Reason, "")
	}
	failure := describe(err)
	log.Printf("%s failed: %s", cmd.Op, failure.Message)
	return failed(cmd.ID, failure.Message, failure.Code)
}

// Bytes decodes a base64 field; null stays nil, "" becomes an empty, non-nil slice.
func Bytes(text *string) ([]byte, error) {
	if text == nil {
		return nil, nil
	}
	data, err := base64.StdEncoding.DecodeString(*text)
	if err != nil {
		return nil, err
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// Text encodes bytes for the wire; nil becomes null.
func Text(data []byte) *string {
	if data == nil {
		return nil
	}
	text := base64.StdEncoding.EncodeToString(data)
	return &text
}

// Int64 boxes a number for an optional field.
func Int64(n int64) *int64 { return &n }

// ErrUnknownOp answers an op this driver does not know.
func ErrUnknownOp(op string) error { return &Unsupported{Reason: "unknown op " + op} }

// ErrNoConsumer answers a group op sent before subscribe (or after closeConsumer).
var ErrNoConsumer = errors.New("IllegalState: no group consumer; send subscribe first")

// ErrHasConsumer answers a subscribe while this driver already has its one group consumer.
var ErrHasConsumer = errors.New("IllegalState: this driver already has a group consumer")
