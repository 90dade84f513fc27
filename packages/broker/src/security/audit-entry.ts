/** One audited action, as stored in `__tributary_audit` (audit-log.ts) and sent between
 * brokers (AuditAppend). */
export interface AuditEntry {
  /** ISO time the broker answered. */
  readonly time: string;
  readonly principal: string;
  readonly clientId: string | null;
  /** Client address and port. */
  readonly peer: string;
  /** The Kafka API (CreateTopics, SaslAuthenticate, ...). */
  readonly action: string;
  /** What it acted on: `topic:orders`, `acl:TOPIC:orders:User:bob:READ:ALLOW`, ... */
  readonly resources: readonly string[];
  /** `ok`, or the names of the errors the answer carried. */
  readonly result: string;
}
