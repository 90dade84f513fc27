/**
 * Brokers talking to each other in cluster mode (the transaction coordinator writing markers on
 * other leaders, a partition leader adding a partition to a transaction on the coordinator):
 * one lazily opened KafkaConnection per peer node, found by node id among the live brokers.
 * A connection that fails is dropped and the error goes to the caller, whose retry reconnects
 * (and re-reads who leads what); every wait is bounded by the connection's timeouts.
 */
import type { ApiDescriptor } from '@tributary/protocol';
import type { Endpoint } from '../endpoint.ts';
import { connectSecurely, type ClientSecurity } from './authenticated-connection.ts';
import { type KafkaConnection, KafkaConnectionError } from './kafka-connection.ts';

export interface BrokerClientsOptions {
  /** The advertised endpoint of a live broker, or undefined if it is not alive. */
  endpointOf(nodeId: number): Endpoint | undefined;
  /** client.id this broker sends, e.g. `tributary-broker-2`. */
  clientId: string;
  requestTimeoutMs: number;
  /** TLS and SASL toward the peers' listener (security/inter-broker-security.ts). */
  security?: ClientSecurity;
}

const connectTimeoutMs = 5_000;

export class BrokerClients {
  readonly #options: BrokerClientsOptions;
  readonly #connections = new Map<number, Promise<KafkaConnection>>();
  #closed = false;

  constructor(options: BrokerClientsOptions) {
    this.#options = options;
  }

  async request<Request, RequestInit, Response, ResponseInit>(
    nodeId: number,
    api: ApiDescriptor<Request, RequestInit, Response, ResponseInit>,
    version: number,
    body: RequestInit,
  ): Promise<Response> {
    const connection = await this.#connectionTo(nodeId);
    try {
      return await connection.request(api, version, body);
    } catch (error: unknown) {
      if (error instanceof KafkaConnectionError) this.#drop(nodeId, connection);
      throw error;
    }
  }

  close(): void {
    this.#closed = true;
    for (const pending of this.#connections.values()) {
      void pending.then((connection) => connection.close()).catch(() => undefined);
    }
    this.#connections.clear();
  }

  #connectionTo(nodeId: number): Promise<KafkaConnection> {
    if (this.#closed) return Promise.reject(new KafkaConnectionError('broker is closing'));
    const existing = this.#connections.get(nodeId);
    if (existing !== undefined) return existing;
    const endpoint = this.#options.endpointOf(nodeId);
    if (endpoint === undefined) {
      return Promise.reject(new KafkaConnectionError(`broker ${nodeId} is not alive`));
    }
    const opening = connectSecurely(endpoint, this.#options.security ?? {}, {
      connectTimeoutMs,
      requestTimeoutMs: this.#options.requestTimeoutMs,
      clientId: this.#options.clientId,
    }).catch((error: unknown) => {
      // A refused handshake or authentication is as retriable for the caller as a refused
      // connection: the peer may be restarting, or its credentials being rolled.
      if (error instanceof KafkaConnectionError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new KafkaConnectionError(`broker ${nodeId}: ${reason}`, { cause: error });
    });
    this.#connections.set(nodeId, opening);
    opening.catch(() => {
      if (this.#connections.get(nodeId) === opening) this.#connections.delete(nodeId);
    });
    return opening;
  }

  #drop(nodeId: number, connection: KafkaConnection): void {
    connection.close();
    void this.#connections.get(nodeId)?.then((current) => {
      if (current === connection) this.#connections.delete(nodeId);
    });
  }
}
