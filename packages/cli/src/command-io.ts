/**
 * What a CLI command may touch besides the network: its output streams, environment and clock.
 * Passed in, so the commands can be run in-process by tests with a fixed clock.
 */
export interface CommandIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly nowMs: () => number;
}

/** Bad command-line input: the command prints it with the usage text and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** node:util parseArgs rejects unknown or malformed options with ERR_PARSE_ARGS_* codes. */
export function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}
