package dev.tributary.testing;

import static dev.tributary.testing.WireRecords.JSON;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * produce, transactionalProduce and consumeAll. Plain producers are kept per (bootstrap,
 * compression, idempotence) for the driver's life, so a scenario's many produce commands reuse
 * one producer id; a transactional producer lives for one command (initTransactions fences
 * any earlier producer with the same transactional id); consumeAll uses a fresh assign-mode
 * consumer each time, since it must start from the earliest offset with no group.
 */
final class RecordOps implements AutoCloseable {
  private static final long closeMs = 5_000;
  private static final Duration consumePollMs = Duration.ofMillis(200);

  private final Map<String, KafkaProducer<byte[], byte[]>> producers = new HashMap<>();

  JsonNode produce(Command command) throws Exception {
    String compression = command.text("compression", "none");
    boolean idempotent = command.flag("idempotent");
    String key = command.bootstrap() + "|" + compression + "|" + idempotent;
    KafkaProducer<byte[], byte[]> producer =
        producers.computeIfAbsent(
            key, k -> new KafkaProducer<>(producerProps(command, compression, idempotent)));
    String topic = command.text("topic");
    List<Future<RecordMetadata>> sends = new ArrayList<>();
    for (JsonNode record : command.json.path("records")) {
      sends.add(producer.send(WireRecords.toProducerRecord(topic, record)));
    }
    // No flush(): it has no bound, while each future is awaited within the command's deadline
    // (linger.ms sends the last batch anyway).
    ArrayNode result = JSON.arrayNode();
    for (Future<RecordMetadata> send : sends) {
      RecordMetadata metadata = command.await(send);
      result.addObject().put("partition", metadata.partition()).put("offset", metadata.offset());
    }
    return result;
  }

  JsonNode transactionalProduce(Command command) throws Exception {
    Properties props =
        producerProps(command, command.text("compression", "none"), /* idempotent= */ true);
    props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, command.text("transactionalId"));
    props.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, (int) Math.max(command.timeoutMs, 1_000));
    String topic = command.text("topic");
    KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props);
    try {
      producer.initTransactions();
      for (JsonNode transaction : command.json.path("transactions")) {
        producer.beginTransaction();
        for (JsonNode record : transaction.path("records")) {
          producer.send(WireRecords.toProducerRecord(topic, record));
        }
        if (transaction.path("commit").asBoolean(true)) {
          producer.commitTransaction();
        } else {
          // Flush first so the aborted records really reach the log: read_committed
          // consumers must then skip them, which is the behaviour under test.
          producer.flush();
          producer.abortTransaction();
        }
      }
    } finally {
      producer.close(Duration.ofMillis(closeMs));
    }
    return JSON.nullNode();
  }

  private static Properties producerProps(Command command, String compression, boolean idempotent) {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, command.bootstrap());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, compression.toLowerCase(Locale.ROOT));
    // The Java client turns idempotence on by default; the protocol asks for it explicitly.
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, idempotent);
    props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    // send() and initTransactions() block on metadata/coordinators at most this long.
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, command.timeoutMs);
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    return props;
  }

  JsonNode consumeAll(Command command) {
    String topic = command.text("topic");
    int partitions = command.integer("partitions");
    long expected = command.number("expectedCount");
    Properties props = consumerProps(command.bootstrap(), command.isolationLevel());
    List<TopicPartition> assignment = new ArrayList<>();
    for (int partition = 0; partition < partitions; partition++) {
      assignment.add(new TopicPartition(topic, partition));
    }
    ArrayNode result = JSON.arrayNode();
    KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props);
    try {
      consumer.assign(assignment);
      consumer.seekToBeginning(assignment);
      while (result.size() < expected && !command.expired()) {
        long waitMs = Math.min(consumePollMs.toMillis(), command.remainingMs());
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(waitMs))) {
          result.add(WireRecords.fromConsumerRecord(record));
        }
      }
    } finally {
      // No group to leave: closing needs no more than a moment, not the 30 s default.
      consumer.close(CloseOptions.timeout(Duration.ofMillis(closeMs)));
    }
    return result;
  }

  static Properties consumerProps(String bootstrap, String isolationLevel) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolationLevel.toLowerCase(Locale.ROOT));
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    return props;
  }

  @Override
  public void close() {
    producers.values().forEach(producer -> producer.close(Duration.ofMillis(closeMs)));
    producers.clear();
  }
}
