/** A console request that cannot be served as asked: answered with `status` and the message. */
export class ConsoleRequestError extends Error {
  readonly status: number;

  constructor(message: string, status = 400) {
    super(message);
    this.status = status;
  }
}
