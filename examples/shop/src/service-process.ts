/**
 * One shop service as a child process (`node src/services/<name>.ts`), started, killed with
 * SIGKILL as a crash would, and started again: what `npm run shop` and the chaos tests run.
 * `start` resolves once the service prints its ready line; its output goes to `onLine`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const serviceNames = [
  'cart',
  'order',
  'inventory',
  'payment',
  'shipping',
  'notification',
] as const;
export type ServiceName = (typeof serviceNames)[number] | 'sales-report';

export interface ServiceEnvironment {
  readonly bootstrap: string;
  readonly registryUrl: string;
  readonly databaseUrl: string;
  readonly notificationFile: string;
  /** More variables (SHOP_HTTP_LISTEN, SHOP_INITIAL_STOCK, SHOP_REPORT_GROUP). */
  readonly extra?: Readonly<Record<string, string>>;
}

/** Bound on a service's start (schema, topics, joining its groups). */
const readyTimeoutMs = 120_000;
const readyPattern = /^(\S+) ready (http:\/\/\S+)$/m;

export class ServiceProcess {
  readonly name: ServiceName;
  readonly #environment: () => ServiceEnvironment;
  readonly #onLine: (line: string) => void;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #url = '';
  #starts = 0;

  /** `environment` is read at each start (a cluster's bootstrap changes as brokers restart). */
  constructor(options: {
    name: ServiceName;
    environment: () => ServiceEnvironment;
    onLine?: (line: string) => void;
  }) {
    this.name = options.name;
    this.#environment = options.environment;
    this.#onLine = options.onLine ?? (() => undefined);
  }

  /** The service's HTTP address, from its latest ready line. */
  get url(): string {
    return this.#url;
  }

  get starts(): number {
    return this.#starts;
  }

  alive(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && !this.#child.killed;
  }

  async start(): Promise<void> {
    if (this.alive()) throw new Error(`${this.name} is running`);
    const environment = this.#environment();
    const entry = fileURLToPath(new URL(`./services/${this.name}.ts`, import.meta.url));
    const child = spawn(process.execPath, [entry], {
      env: {
        ...process.env,
        SHOP_BOOTSTRAP: environment.bootstrap,
        SHOP_REGISTRY_URL: environment.registryUrl,
        SHOP_DATABASE_URL: environment.databaseUrl,
        SHOP_NOTIFICATION_FILE: environment.notificationFile,
        ...environment.extra,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#starts += 1;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const ready = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: no ready line`)),
        readyTimeoutMs,
      );
      let stdout = '';
      const onText = (text: string) => {
        for (const line of text.split('\n')) if (line !== '') this.#onLine(line);
        stdout = `${stdout}${text}`.slice(-4_096);
        const match = readyPattern.exec(stdout);
        if (match?.[2] !== undefined) {
          clearTimeout(timer);
          resolve(match[2]);
        }
      };
      child.stdout?.setEncoding('utf8').on('data', onText);
      child.stderr?.setEncoding('utf8').on('data', (text: string) => {
        for (const line of text.split('\n')) if (line !== '') this.#onLine(line);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${code ?? signal}) before it was ready`));
      });
    });
    try {
      this.#url = await ready;
    } catch (error: unknown) {
      // Never leave a half-started process behind: the next start would find it running.
      child.kill('SIGKILL');
      await this.#exited;
      throw error;
    }
  }

  /** SIGKILL: no shutdown, no commit, no goodbye to the group. */
  async kill(): Promise<void> {
    this.#child?.kill('SIGKILL');
    await this.#exited;
  }

  /** SIGTERM: a graceful shutdown (SIGKILL after `timeoutMs`). */
  async stop(timeoutMs = 15_000): Promise<void> {
    if (!this.alive()) return;
    this.#child?.kill('SIGTERM');
    const timer = setTimeout(() => this.#child?.kill('SIGKILL'), timeoutMs);
    await this.#exited;
    clearTimeout(timer);
  }

  /** Resolves when the current process exits. */
  get exited(): Promise<void> {
    return this.#exited;
  }
}
