/**
 * What crosses zones, counted (cluster mode, zone routing). Record bytes a broker receives in a
 * produce from a client of another zone or sends in a fetch to one are the cost zone routing
 * exists to avoid; they stay 0 when every client says its zone (client.rack, or zone=<rack> in
 * client.id) and every zone has a live broker. Forwarded batches cost only their headers and
 * locations, counted apart. A client whose zone is unknown is not counted.
 */
export class ZoneTraffic {
  /** Produce record bytes received from clients in another zone. */
  dataBytesIn = 0;
  /** Fetch record bytes sent to clients in another zone. */
  dataBytesOut = 0;
  /** Batches handed to a leader in another zone (headers and locations only). */
  forwardedBatches = 0;
  /** Bytes of those hand-offs' bodies. */
  forwardBytes = 0;

  forwarded(batches: number, bytes: number): void {
    this.forwardedBatches += batches;
    this.forwardBytes += bytes;
  }
}
