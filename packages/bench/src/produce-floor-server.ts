/**
 * The Node floor's server process (produce-floor.ts): answers every Kafka request frame at once
 * with the same canned Produce v9 response under the request's correlation id, doing no other
 * work. Arguments: the port (0 for any) and the response body in hex; prints `listening PORT`.
 */
import { createServer, type Socket } from 'node:net';

const [portArgument, bodyHex] = process.argv.slice(2);
const body = Buffer.from(bodyHex ?? '', 'hex');
/** Size prefix, correlation id, response header v1's empty tagged fields. */
const headBytes = 4 + 4 + 1;

function answer(socket: Socket, correlationId: number): void {
  const frame = Buffer.allocUnsafe(headBytes + body.length);
  frame.writeInt32BE(headBytes - 4 + body.length, 0);
  frame.writeInt32BE(correlationId, 4);
  frame[8] = 0;
  body.copy(frame, headBytes);
  socket.write(frame);
}

const server = createServer((socket) => {
  socket.setNoDelay(true);
  let buffered: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    // Frame: size, api key, api version, correlation id, ...
    while (buffered.length >= 12 && buffered.length >= 4 + buffered.readInt32BE(0)) {
      answer(socket, buffered.readInt32BE(8));
      buffered = buffered.subarray(4 + buffered.readInt32BE(0));
    }
  });
  socket.on('error', () => socket.destroy());
});
server.listen(Number(portArgument ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' ? address?.port : 0}\n`);
});
