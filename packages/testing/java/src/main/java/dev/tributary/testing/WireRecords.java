package dev.tributary.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Records between the line protocol's JSON and the Java client's types (DRIVER-PROTOCOL.md):
 * keys, values and header values are base64 strings or JSON null; offsets and timestamps are
 * JSON numbers. A record without `partition` is left to the producer's partitioner, one without
 * `timestamp` gets the client's "now".
 */
final class WireRecords {
  static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private WireRecords() {}

  static ProducerRecord<byte[], byte[]> toProducerRecord(String topic, JsonNode wire) {
    Integer partition = wire.hasNonNull("partition") ? wire.get("partition").asInt() : null;
    Long timestamp = wire.hasNonNull("timestamp") ? wire.get("timestamp").asLong() : null;
    RecordHeaders headers = new RecordHeaders();
    JsonNode wireHeaders = wire.get("headers");
    if (wireHeaders != null && wireHeaders.isArray()) {
      for (JsonNode header : wireHeaders) {
        headers.add(header.get(0).asText(), bytes(header.get(1)));
      }
    }
    return new ProducerRecord<>(
        topic, partition, timestamp, bytes(wire.get("key")), bytes(wire.get("value")), headers);
  }

  static ObjectNode fromConsumerRecord(ConsumerRecord<byte[], byte[]> record) {
    ObjectNode wire = JSON.objectNode();
    wire.put("partition", record.partition());
    wire.put("offset", record.offset());
    wire.set("key", base64(record.key()));
    wire.set("value", base64(record.value()));
    ArrayNode headers = wire.putArray("headers");
    for (Header header : record.headers()) {
      headers.addArray().add(header.key()).add(base64(header.value()));
    }
    wire.put("timestamp", record.timestamp());
    return wire;
  }

  static ObjectNode topicPartition(TopicPartition partition) {
    ObjectNode wire = JSON.objectNode().put("topic", partition.topic());
    return wire.put("partition", partition.partition());
  }

  /** Sorted by topic then partition, so answers do not depend on hash-set order. */
  static List<TopicPartition> sorted(Collection<TopicPartition> partitions) {
    List<TopicPartition> sorted = new ArrayList<>(partitions);
    sorted.sort(
        Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition));
    return sorted;
  }

  static ArrayNode topicPartitions(Collection<TopicPartition> partitions) {
    ArrayNode array = JSON.arrayNode();
    sorted(partitions).forEach(partition -> array.add(topicPartition(partition)));
    return array;
  }

  private static byte[] bytes(JsonNode node) {
    if (node == null || node.isNull()) return null;
    return Base64.getDecoder().decode(Objects.requireNonNull(node.asText()));
  }

  private static JsonNode base64(byte[] data) {
    if (data == null) return JSON.nullNode();
    return JSON.textNode(Base64.getEncoder().encodeToString(data));
  }
}
