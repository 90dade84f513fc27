/**
 * The peers as data: each system's name, what its producer ack and its consumer-group
 * delivery/ack mean, how to start it, and its client (pipelined load, paced lane, group
 * reader). `runOnPeers` starts each chosen peer fresh, runs a workload's measurement on it and
 * stops it; a peer that fails is reported with its error and the others still run.
 */
import type { BenchContext } from './bench-context.ts';
import {
  natsJetStreamLoad,
  rabbitStreamLoad,
  redisXaddLoad,
  type PipelinedLimits,
  type PipelinedResult,
} from './peer-load.ts';
import { createNatsPullConsumer, openNatsLane, readNatsPull } from './peer-nats.ts';
import type { OpenedLane } from './peer-paced.ts';
import {
  assertRabbitStream,
  openRabbitLane,
  rabbitConnect,
  readRabbitStream,
} from './peer-rabbit.ts';
import type { PeerReadOptions, PeerReadResult } from './peer-read.ts';
import { createRedisGroup, openRedisLane, readRedisGroup } from './peer-redis.ts';
import { startNats, startRabbitmq, startRedis, type PeerServer } from './peer-servers.ts';

export interface PeerClient {
  /** Client named in the report rows. */
  name: string;
  /** Producer that keeps `window` messages unacknowledged, up to `maxRecords`. */
  load(port: number, limits: PipelinedLimits): Promise<PipelinedResult>;
  /** One paced producer connection. */
  openLane(port: number): Promise<OpenedLane>;
  /** Creates a consumer group that will read from the first record. */
  createGroup(port: number, group: string): Promise<void>;
  readGroup(port: number, options: PeerReadOptions): Promise<PeerReadResult>;
}

export interface PeerSystem {
  system: string;
  /** What the producer's acknowledgement means. */
  ack: string;
  /** What one group delivery and its acknowledgement mean. */
  delivery: string;
  start(dataParentDir: string): Promise<PeerServer>;
  client: PeerClient;
}

const redisClient: PeerClient = {
  name: 'bench raw RESP client',
  load: redisXaddLoad,
  openLane: openRedisLane,
  createGroup: createRedisGroup,
  readGroup: readRedisGroup,
};

const natsClient: PeerClient = {
  name: 'bench raw NATS client',
  load: natsJetStreamLoad,
  openLane: openNatsLane,
  createGroup: createNatsPullConsumer,
  readGroup: readNatsPull,
};

const rabbitClient: PeerClient = {
  name: 'amqplib 2.3',
  load: rabbitStreamLoad,
  openLane: openRabbitLane,
  createGroup: async (port) => {
    const connection = await rabbitConnect(port);
    try {
      await assertRabbitStream(await connection.createChannel());
    } finally {
      await connection.close();
    }
  },
  readGroup: (port, options) => readRabbitStream(port, 'first', options),
};

const redisDelivery =
  'XREADGROUP of 500, XACK of the batch pipelined with the next read; both change the ' +
  "group's state, so they go through the AOF";

export const redisAlways: PeerSystem = {
  system: 'redis streams, appendfsync always',
  ack: 'AOF fsync before reply',
  delivery: `${redisDelivery} (fsync'd before the reply)`,
  start: (dir) => startRedis(dir, 'always'),
  client: redisClient,
};

export const redisEverysec: PeerSystem = {
  system: 'redis streams, appendfsync everysec',
  ack: 'written, fsync ~1 s later',
  delivery: `${redisDelivery} (written, fsync ~1 s later)`,
  start: (dir) => startRedis(dir, 'everysec'),
  client: redisClient,
};

export const natsFile: PeerSystem = {
  system: 'nats jetstream, file storage',
  ack: 'written to file, no fsync',
  delivery:
    'durable pull consumer, pulls of 500, ack policy all: the last message of each pull is ' +
    'acked (acknowledging all before it); consumer state written without fsync',
  start: startNats,
  client: natsClient,
};

export const rabbitStream: PeerSystem = {
  system: 'rabbitmq stream queue',
  ack: 'confirm after the write to the stream segment, no fsync',
  delivery:
    'AMQP stream consumer from offset first, prefetch 1000, ack (multiple) every 250: the ' +
    'ack only returns credit, no offset is stored on the server',
  start: startRabbitmq,
  client: rabbitClient,
};

/** What runOnPeers needs of a system: its name and how to start a fresh server of it. */
export type StartableSystem = Pick<PeerSystem, 'system' | 'start'>;

export interface PeerOutcome<T, P extends StartableSystem = PeerSystem> {
  peer: P;
  result?: T;
  error?: string;
}

/** Runs `measure` on a fresh server of each peer in turn; errors are kept, not thrown. */
export async function runOnPeers<T, P extends StartableSystem = PeerSystem>(
  context: BenchContext,
  workload: string,
  peers: readonly P[],
  measure: (peer: P, server: PeerServer) => Promise<T>,
): Promise<Array<PeerOutcome<T, P>>> {
  const outcomes: Array<PeerOutcome<T, P>> = [];
  for (const peer of peers) {
    context.log(`${workload}: peer ${peer.system}`);
    try {
      const server = await peer.start(context.dataParentDir);
      try {
        outcomes.push({ peer, result: await measure(peer, server) });
      } finally {
        await server.stop();
      }
    } catch (error: unknown) {
      const message = error instanceof Error ? error.message : String(error);
      context.log(`peer ${peer.system} failed: ${message}`);
      outcomes.push({ peer, error: message.split('\n')[0] ?? message });
    }
  }
  return outcomes;
}

/** The peers of the workloads after produce: Redis always and NATS; RabbitMQ too when full. */
export function peersFor(context: BenchContext): PeerSystem[] {
  return context.quick ? [redisAlways, natsFile] : [redisAlways, natsFile, rabbitStream];
}

/** The peers that produced a result (with it), and a notes line naming those that failed. */
export function summarizePeers<T>(outcomes: ReadonlyArray<PeerOutcome<T>>): {
  ran: Array<{ peer: PeerSystem; run: T }>;
  failures: string[];
} {
  const ran = outcomes.flatMap((outcome) =>
    outcome.result === undefined ? [] : [{ peer: outcome.peer, run: outcome.result }],
  );
  const failed = outcomes.filter((outcome) => outcome.error !== undefined);
  const failures =
    failed.length === 0
      ? []
      : [
          'Peers that did not run: ' +
            failed.map((outcome) => `${outcome.peer.system} (${outcome.error})`).join('; ') +
            '.',
        ];
  return { ran, failures };
}
