/**
 * Runs a child process to completion with a hard timeout. The child gets its stdin from `input`
 * (closed right after), and is killed with SIGKILL when `timeoutMs` passes, so a hung client can
 * never hang a test; the result then has `timedOut: true`. Output is collected as UTF-8 text
 * up to `outputMaxBytes` per stream (the rest is dropped, not buffered).
 */
import { spawn } from 'node:child_process';

export interface RunCommandOptions {
  readonly input?: string | Buffer;
  readonly timeoutMs: number;
  /** Added to the parent's environment. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly outputMaxBytes?: number;
}

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Exit code, or null when a signal ended the process. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
}

const defaultOutputMaxBytes = 256 * 1024 * 1024;

export function runCommand(
  command: string,
  args: readonly string[],
  options: RunCommandOptions,
): Promise<CommandResult> {
  const outputMaxBytes = options.outputMaxBytes ?? defaultOutputMaxBytes;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    const stdout = collect(child.stdout, outputMaxBytes);
    const stderr = collect(child.stderr, outputMaxBytes);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${command}: ${error.message}`, { cause: error }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout: stdout(), stderr: stderr(), code, signal, timedOut });
    });
    // A child that exits before reading its input makes the write fail with EPIPE: the exit
    // status is what matters then, so the write error is ignored.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

function collect(stream: NodeJS.ReadableStream, maxBytes: number): () => string {
  const chunks: Buffer[] = [];
  let size = 0;
  stream.on('data', (chunk: Buffer) => {
    if (size >= maxBytes) return;
    chunks.push(chunk);
    size += chunk.length;
  });
  return () => Buffer.concat(chunks).toString('utf8');
}
