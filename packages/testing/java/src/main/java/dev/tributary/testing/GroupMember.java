package dev.tributary.testing;

import static dev.tributary.testing.WireRecords.JSON;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.Locale;
import java.util.Properties;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;

/**
 * This process's one consumer-group member: subscribe, poll, commit, closeConsumer. Auto commit
 * is off, so the group's committed offsets move only on `commit`. `closeConsumer` closes with
 * the client's default membership operation: a dynamic member sends LeaveGroup (or the KIP-848
 * leave heartbeat), a static member (`instanceId`) stays in the group until its session times
 * out, as Kafka intends for static membership.
 */
final class GroupMember implements AutoCloseable {
  private static final Duration pollSliceMs = Duration.ofMillis(100);
  private static final Duration closeMs = Duration.ofSeconds(10);

  private KafkaConsumer<byte[], byte[]> consumer;

  JsonNode subscribe(Command command) {
    if (consumer != null) {
      throw new IllegalStateException("this driver already has a group consumer");
    }
    Properties props = RecordOps.consumerProps(command.bootstrap(), command.isolationLevel());
    props.put(ConsumerConfig.GROUP_ID_CONFIG, command.text("groupId"));
    props.put(
        ConsumerConfig.GROUP_PROTOCOL_CONFIG,
        command.text("groupProtocol", "classic").toLowerCase(Locale.ROOT));
    String instanceId = command.text("instanceId", null);
    if (instanceId != null) props.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, instanceId);
    consumer = new KafkaConsumer<>(props);
    consumer.subscribe(command.strings("topics"));
    return JSON.nullNode();
  }

  JsonNode poll(Command command) {
    KafkaConsumer<byte[], byte[]> member = need();
    long durationMs = Math.min(command.number("durationMs"), command.timeoutMs);
    long maxRecords = command.number("maxRecords", Long.MAX_VALUE);
    long endNanos = System.nanoTime() + Duration.ofMillis(durationMs).toNanos();
    ObjectNode result = JSON.objectNode();
    var records = result.putArray("records");
    do {
      long leftMs = Duration.ofNanos(endNanos - System.nanoTime()).toMillis();
      Duration wait = Duration.ofMillis(Math.max(0, Math.min(leftMs, pollSliceMs.toMillis())));
      for (ConsumerRecord<byte[], byte[]> record : member.poll(wait)) {
        records.add(WireRecords.fromConsumerRecord(record).put("topic", record.topic()));
      }
    } while (records.size() < maxRecords && System.nanoTime() - endNanos < 0);
    result.set("assignment", WireRecords.topicPartitions(member.assignment()));
    return result;
  }

  JsonNode commit(Command command) {
    need().commitSync(command.remaining());
    return JSON.nullNode();
  }

  JsonNode closeConsumer(Command command) {
    KafkaConsumer<byte[], byte[]> member = need();
    consumer = null;
    member.close(CloseOptions.timeout(command.remaining()));
    return JSON.nullNode();
  }

  private KafkaConsumer<byte[], byte[]> need() {
    if (consumer == null) throw new IllegalStateException("no group consumer: subscribe first");
    return consumer;
  }

  @Override
  public void close() {
    if (consumer != null) consumer.close(CloseOptions.timeout(closeMs));
    consumer = null;
  }
}
