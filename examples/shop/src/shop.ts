/**
 * The whole shop as processes: one `ServiceProcess` per service, all started together against
 * one broker (or cluster), its schema registry and one PostgreSQL database in which each service
 * keeps its own schema. `npm run shop` and the tests start it through here.
 */
import {
  serviceNames,
  ServiceProcess,
  type ServiceEnvironment,
  type ServiceName,
} from './service-process.ts';

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

  /** Starts every service; they prepare their schemas and topics concurrently. */
  async start(): Promise<void> {
    await Promise.all([...this.services.values()].map((service) => service.start()));
  }

  /** Graceful stop of every service still running. */
  async stop(): Promise<void> {
    await Promise.all([...this.services.values()].map((service) => service.stop()));
  }
}
