/**
 * The one error a decoder throws for malformed input: truncated frames, impossible lengths,
 * over-long varints, null where the schema forbids it. The broker answers it by closing the
 * connection (Kafka's INVALID_REQUEST behaviour); it never signals a bug in our own code.
 */
export class ProtocolError extends Error {
  readonly code = 'INVALID_REQUEST' as const;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ProtocolError';
  }
}
