package dev.tributary.testing;

import static dev.tributary.testing.WireRecords.JSON;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * `transactionalCopy`: the exactly-once consume-transform-produce loop of DRIVER-PROTOCOL.md. A
 * read_committed group consumer reads `from`; a transactional producer writes each polled batch
 * to `to` (same partition, key, value, headers, timestamp) and commits it together with the
 * batch's offsets (sendOffsetsToTransaction with the consumer's group metadata).
 *
 * A failed transaction is aborted and the consumer rewound to the group's committed offsets;
 * when the producer cannot abort (fenced, a fatal error, an abort that fails) it is replaced by
 * a new one with the same transactional.id, whose initTransactions fences the old one and
 * settles its open transaction. A commit that failed may still have landed: the batch is kept
 * and counted by the committed offsets the next rewind reads, so `copied` stays exact.
 */
final class TransactionalCopy {
  private static final int defaultRecordsPerTransaction = 50;
  private static final long pollSliceMs = 200;
  /** Bounds each producer call (commit, abort, init) so the loop regains control to retry. */
  private static final long producerBlockMaxMs = 10_000;
  private static final long closeMs = 2_000;
  private static final long retryPauseMs = 100;
  private static final int errorsMax = 50;
  private static final int errorTextMaxChars = 200;

  private final Command command;
  private final String to;
  private final long expected;
  private KafkaConsumer<byte[], byte[]> consumer;
  private KafkaProducer<byte[], byte[]> producer;
  /** The batch of a commit that threw: committed or not, the group's offsets will tell. */
  private ConsumerRecords<byte[], byte[]> uncertain;
  private boolean rewind;
  private long copied;
  private long transactions;
  private long aborted;
  private final List<String> errors = new ArrayList<>();

  private TransactionalCopy(Command command) {
    this.command = command;
    this.to = command.text("to");
    this.expected = command.number("expectedCount");
  }

  static JsonNode run(Command command) {
    return new TransactionalCopy(command).copy();
  }

  private JsonNode copy() {
    try {
      while (copied < expected && !command.expired()) {
        try {
          step();
        } catch (RuntimeException error) {
          note(error);
          // Not from a transaction (init, poll, a rewind): start the consumer afresh, after a
          // pause so a broker that refuses at once does not spin the loop.
          closeConsumer();
          pause();
        }
      }
    } finally {
      closeConsumer();
      closeProducer();
    }
    ObjectNode result = JSON.objectNode().put("copied", copied);
    result.put("transactions", transactions).put("aborted", aborted);
    ArrayNode list = result.putArray("errors");
    errors.forEach(list::add);
    return result;
  }

  private void step() {
    if (producer == null) producer = newProducer();
    if (consumer == null) {
      consumer = newConsumer();
      rewind = uncertain != null;
    }
    if (rewind) rewind();
    long waitMs = Math.min(pollSliceMs, command.remainingMs());
    ConsumerRecords<byte[], byte[]> batch = consumer.poll(Duration.ofMillis(waitMs));
    if (!batch.isEmpty()) transact(batch);
  }

  /** One transaction: the batch to `to` plus its offsets, committed; aborted on failure. */
  private void transact(ConsumerRecords<byte[], byte[]> batch) {
    boolean committing = false;
    try {
      producer.beginTransaction();
      Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
      for (ConsumerRecord<byte[], byte[]> record : batch) {
        producer.send(
            new ProducerRecord<>(
                to,
                record.partition(),
                record.timestamp(),
                record.key(),
                record.value(),
                record.headers()));
        TopicPartition source = new TopicPartition(record.topic(), record.partition());
        offsets.put(source, new OffsetAndMetadata(record.offset() + 1));
      }
      producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
      committing = true;
      producer.commitTransaction();
      copied += batch.count();
      transactions++;
    } catch (RuntimeException error) {
      note(error);
      rewind = true;
      // Before commitTransaction nothing can land; after it threw, the group's offsets tell.
      if (committing) uncertain = batch;
      else aborted++;
      if (fatal(error) || !abort()) closeProducer();
    }
  }

  /** Aborts the open transaction; false when the producer cannot, so it must be replaced. */
  private boolean abort() {
    try {
      producer.abortTransaction();
      // An abort that worked settles a failed commit: nothing of it landed.
      if (uncertain != null) {
        uncertain = null;
        aborted++;
      }
      return true;
    } catch (RuntimeException error) {
      note(error);
      return false;
    }
  }

  /**
   * Seeks every assigned partition back to the group's committed offset (the beginning when it
   * has none), and counts what of an uncertain batch those offsets show as committed.
   */
  private void rewind() {
    Set<TopicPartition> partitions = new HashSet<>(consumer.assignment());
    if (uncertain != null) partitions.addAll(uncertain.partitions());
    Map<TopicPartition, OffsetAndMetadata> committed =
        consumer.committed(partitions, command.remaining());
    if (uncertain != null) settle(committed);
    for (TopicPartition partition : consumer.assignment()) {
      OffsetAndMetadata offset = committed.get(partition);
      if (offset == null) consumer.seekToBeginning(List.of(partition));
      else consumer.seek(partition, offset);
    }
    rewind = false;
  }

  private void settle(Map<TopicPartition, OffsetAndMetadata> committed) {
    long landed = 0;
    for (TopicPartition partition : uncertain.partitions()) {
      OffsetAndMetadata offset = committed.get(partition);
      for (ConsumerRecord<byte[], byte[]> record : uncertain.records(partition)) {
        if (offset != null && record.offset() < offset.offset()) landed++;
      }
    }
    copied += landed;
    if (landed > 0) transactions++;
    else aborted++;
    uncertain = null;
  }

  /** Errors after which the producer cannot go on, not even to abort. */
  private static boolean fatal(Throwable error) {
    for (Throwable cause = error; cause != null; cause = cause.getCause()) {
      if (cause instanceof ProducerFencedException
          || cause instanceof InvalidProducerEpochException
          || cause instanceof OutOfOrderSequenceException
          || cause instanceof UnsupportedVersionException
          || cause instanceof AuthorizationException
          || cause instanceof IllegalStateException) {
        return true;
      }
      if (cause.getCause() == cause) break;
    }
    return false;
  }

  private KafkaProducer<byte[], byte[]> newProducer() {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, command.bootstrap());
    props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, command.text("transactionalId"));
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    long blockMs = Math.min(producerBlockMaxMs, command.remainingMs());
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, blockMs);
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    KafkaProducer<byte[], byte[]> created = new KafkaProducer<>(props);
    try {
      created.initTransactions();
    } catch (RuntimeException error) {
      created.close(Duration.ofMillis(closeMs));
      throw error;
    }
    return created;
  }

  private KafkaConsumer<byte[], byte[]> newConsumer() {
    Properties props = RecordOps.consumerProps(command.bootstrap(), "read_committed");
    props.put(ConsumerConfig.GROUP_ID_CONFIG, command.text("groupId"));
    props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
    long perTransaction = command.number("maxRecordsPerTransaction", defaultRecordsPerTransaction);
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, (int) Math.max(1, perTransaction));
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    KafkaConsumer<byte[], byte[]> created = new KafkaConsumer<>(props);
    created.subscribe(List.of(command.text("from")));
    return created;
  }

  private void pause() {
    try {
      Thread.sleep(Math.min(retryPauseMs, command.remainingMs()));
    } catch (InterruptedException interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private void note(Throwable error) {
    if (errors.size() >= errorsMax) return;
    String text = error.getClass().getSimpleName() + ": " + error.getMessage();
    errors.add(text.length() > errorTextMaxChars ? text.substring(0, errorTextMaxChars) : text);
  }

  private void closeConsumer() {
    if (consumer == null) return;
    try {
      consumer.close(CloseOptions.timeout(Duration.ofMillis(closeMs)));
    } catch (RuntimeException error) {
      note(error);
    }
    consumer = null;
  }

  private void closeProducer() {
    if (producer == null) return;
    try {
      producer.close(Duration.ofMillis(closeMs));
    } catch (RuntimeException error) {
      note(error);
    }
    producer = null;
  }
}
