package dev.tributary.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.apicurio.registry.serde.SerdeConfig;
import io.apicurio.registry.serde.avro.AvroKafkaDeserializer;
import io.apicurio.registry.serde.avro.AvroKafkaSerializer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.DecoderFactory;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Apicurio Registry's Avro serdes (AvroKafkaSerializer / AvroKafkaDeserializer, 2.x) in
 * Confluent-compatible mode against Tributary's registry, run as its own process by
 * test/schema-registry/apicurio-schema-registry.test.ts. The serdes speak Apicurio's REST API
 * (v2); with as-confluent, use-id=contentId and headers off they write Confluent's wire format
 * (magic 0, 4-byte id), so Confluent clients read what they write and the other way round.
 *
 * <p>Usage: {@code ApicurioAvro produce <bootstrap> <registry-v2-url> <topic> <schema-json>}
 * reads records as Avro JSON lines on stdin, serializes each (auto-registering the schema under
 * the subject {@code <topic>-value}), sends them and prints {@code {"produced":N}}; a failure
 * prints {@code {"error":..., "causes":[...]}} and exits 1. {@code ApicurioAvro consume
 * <bootstrap> <registry-v2-url> <topic> <count>} reads the first count records of partition 0
 * and prints each as {@code {"schemaId":N,"value":<record as JSON>}}.
 */
public final class ApicurioAvro {
  private static final Duration pollTimeout = Duration.ofMillis(500);
  private static final long consumeDeadlineMs = 60_000;
  private static final ObjectMapper json = new ObjectMapper();

  private ApicurioAvro() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 5 || !(args[0].equals("produce") || args[0].equals("consume"))) {
      System.err.println(
          "usage: ApicurioAvro produce <bootstrap> <registry> <topic> <schema-json>\n"
              + "       ApicurioAvro consume <bootstrap> <registry> <topic> <count>");
      System.exit(2);
    }
    try {
      if (args[0].equals("produce")) {
        produce(args[1], args[2], args[3], new Schema.Parser().parse(args[4]));
      } else {
        consume(args[1], args[2], args[3], Integer.parseInt(args[4]));
      }
    } catch (Exception error) {
      List<String> causes = new ArrayList<>();
      for (Throwable cause = error; cause != null; cause = cause.getCause()) {
        causes.add(cause.getClass().getName() + ": " + cause.getMessage());
        if (cause.getCause() == cause) break;
      }
      Map<String, Object> line = new LinkedHashMap<>();
      line.put("error", error.toString());
      line.put("causes", causes);
      System.out.println(json.writeValueAsString(line));
      System.exit(1);
    }
  }

  /** The serdes' settings for Confluent's wire format and auto-registration. */
  private static Map<String, Object> serdeConfig(String registryUrl) {
    Map<String, Object> config = new HashMap<>();
    config.put(SerdeConfig.REGISTRY_URL, registryUrl);
    config.put(SerdeConfig.AUTO_REGISTER_ARTIFACT, true);
    config.put(SerdeConfig.ENABLE_CONFLUENT_ID_HANDLER, true);
    config.put(SerdeConfig.USE_ID, "contentId");
    config.put(SerdeConfig.ENABLE_HEADERS, false);
    return config;
  }

  private static void produce(String bootstrap, String registryUrl, String topic, Schema schema)
      throws Exception {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.RETRIES_CONFIG, 0);
    props.putAll(serdeConfig(registryUrl));
    GenericDatumReader<GenericRecord> reader = new GenericDatumReader<>(schema);
    BufferedReader input =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    int produced = 0;
    AvroKafkaSerializer<GenericRecord> serializer = new AvroKafkaSerializer<>();
    serializer.configure(serdeConfig(registryUrl), false);
    // The producer closes the serializer it was given.
    try (KafkaProducer<String, GenericRecord> producer =
        new KafkaProducer<>(props, new StringSerializer(), serializer)) {
      for (String text = input.readLine(); text != null; text = input.readLine()) {
        if (text.isBlank()) continue;
        GenericRecord record =
            reader.read(null, DecoderFactory.get().jsonDecoder(schema, text));
        producer.send(new ProducerRecord<>(topic, 0, null, record)).get();
        produced += 1;
      }
    }
    System.out.println(json.writeValueAsString(Map.of("produced", produced)));
  }

  private static void consume(String bootstrap, String registryUrl, String topic, int count)
      throws Exception {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    TopicPartition partition = new TopicPartition(topic, 0);
    int printed = 0;
    long deadline = System.currentTimeMillis() + consumeDeadlineMs;
    try (AvroKafkaDeserializer<Object> deserializer = new AvroKafkaDeserializer<>();
        KafkaConsumer<byte[], byte[]> consumer =
            new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      deserializer.configure(serdeConfig(registryUrl), false);
      consumer.assign(List.of(partition));
      consumer.seekToBeginning(List.of(partition));
      while (printed < count) {
        if (System.currentTimeMillis() > deadline) {
          throw new IllegalStateException("read " + printed + " of " + count + " records");
        }
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(pollTimeout)) {
          if (printed == count) break;
          Object value = deserializer.deserialize(topic, record.headers(), record.value());
          Map<String, Object> line = new LinkedHashMap<>();
          line.put("schemaId", ByteBuffer.wrap(record.value(), 1, 4).getInt());
          // GenericRecord.toString() is the record as JSON.
          line.put("value", json.readTree(String.valueOf(value)));
          System.out.println(json.writeValueAsString(line));
          printed += 1;
        }
      }
    }
  }
}
