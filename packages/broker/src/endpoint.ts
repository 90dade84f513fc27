/** A host and port a broker listens on or is reached at. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}
