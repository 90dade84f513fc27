/**
 * A program a local service needs is not installed. Its message says, in plain words, what to
 * install or build and which variable points at an existing copy; `tributary cluster up` prints
 * it as it is and exits 1.
 */
export class MissingToolError extends Error {
  override readonly name = 'MissingToolError';
  readonly code = 'MISSING_TOOL';
}
