/**
 * A small client of the Confluent Schema Registry REST API for `tributary schemas`: it speaks
 * HTTP to any Confluent-compatible registry (Tributary's own or Confluent's). A non-2xx answer
 * becomes a RegistryClientError carrying Confluent's `error_code` and message; a registry that
 * does not answer within `requestTimeoutMs` is an error too, never a hang.
 */

export const registryRequestTimeoutMs = 30_000;
const contentType = 'application/vnd.schemaregistry.v1+json';

export class RegistryClientError extends Error {
  override readonly name = 'RegistryClientError';
  readonly status: number;
  readonly errorCode: number;

  constructor(status: number, errorCode: number, message: string) {
    super(message);
    this.status = status;
    this.errorCode = errorCode;
  }
}

export class RegistryClient {
  readonly #baseUrl: string;

  constructor(baseUrl: string) {
    this.#baseUrl = baseUrl.replace(/\/+$/, '');
  }

  get(path: string): Promise<unknown> {
    return this.#call('GET', path, undefined);
  }

  post(path: string, body: unknown): Promise<unknown> {
    return this.#call('POST', path, body);
  }

  async #call(method: string, path: string, body: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${this.#baseUrl}${path}`, {
        method,
        headers: { accept: contentType, 'content-type': contentType },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(registryRequestTimeoutMs),
      });
    } catch (error: unknown) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new RegistryClientError(
        0,
        0,
        `cannot reach the schema registry at ${this.#baseUrl}: ${reason}`,
      );
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = text;
    }
    if (!response.ok) {
      const fields = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<
        string,
        unknown
      >;
      const code = typeof fields.error_code === 'number' ? fields.error_code : response.status;
      const message = typeof fields.message === 'string' ? fields.message : text;
      throw new RegistryClientError(response.status, code, `${message} (error_code ${code})`);
    }
    return parsed;
  }
}
