/**
 * The whole shop as processes: one `ServiceProcess` per service, all started together against
 * one broker (or cluster), its schema registry and one PostgreSQL database in which each service
 * keeps its own schema. `npm run shop` and the tests start it through here.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  serviceNames,
  ServiceProcess,
  type ServiceEnvironment,
  type ServiceName,
} from './service-process.ts';

const startAttempts = 5;
const startRetryMs = 2_000;

export class Shop {
  readonly services: ReadonlyMap<ServiceName, ServiceProcess>;

  constructor(options: {
    environment: () => ServiceEnvironment;
    /** Per-service extra environment (fixed HTTP ports for `npm run shop`). */
    extra?: (name: ServiceName) => Readonly<Record<string, string>>;
    onLine?: (name: ServiceName, line: string) => void;
  }) {
    const services = new Map<ServiceName, ServiceProcess>();
    for (const name of serviceNames) {
      services.set(
        name,
        new ServiceProcess({
          name,
          environment: () => {
            const base = options.environment();
            return { ...base, extra: { ...base.extra, ...options.extra?.(name) } };
          },
          onLine: (line) => options.onLine?.(name, line),
        }),
      );
    }
    this.services = services;
  }

  service(name: ServiceName): ServiceProcess {
    const found = this.services.get(name);
    if (found === undefined) throw new Error(`no service ${name}`);
    return found;
  }

  /**
   * Starts every service; they prepare their schemas and topics concurrently. A service that
   * exits before it is ready (its cluster still electing leaders) is started again.
   */
  async start(): Promise<void> {
    await Promise.all(
      [...this.services.values()].map(async (service) => {
        for (let attempt = 1; ; attempt++) {
          try {
            await service.start();
            return;
          } catch (error: unknown) {
            if (attempt >= startAttempts) throw error;
            await sleep(startRetryMs);
          }
        }
      }),
    );
  }

  /** Graceful stop of every service still running. */
  async stop(): Promise<void> {
    await Promise.all([...this.services.values()].map((service) => service.stop()));
  }
}
