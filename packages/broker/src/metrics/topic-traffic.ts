/**
 * Record bytes produced to and fetched from each topic (issue 17; Kafka's BytesInPerSec and
 * BytesOutPerSec by topic), counted by the Produce and Fetch handlers and read by /metrics.
 */
export class TopicTraffic {
  /** Record bytes received in Produce requests, by topic name. */
  readonly bytesIn = new Map<string, number>();
  /** Record bytes sent in Fetch responses, by topic name. */
  readonly bytesOut = new Map<string, number>();

  produced(topic: string, bytes: number): void {
    this.bytesIn.set(topic, (this.bytesIn.get(topic) ?? 0) + bytes);
  }

  fetched(topic: string, bytes: number): void {
    if (bytes > 0) this.bytesOut.set(topic, (this.bytesOut.get(topic) ?? 0) + bytes);
  }
}
