package dev.tributary.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.apicurio.registry.serde.SerdeConfig;
import io.apicurio.registry.serde.avro.AvroKafkaDeserializer;
import io.apicurio.registry.serde.avro.AvroKafkaSerializer;
import io.apicurio.registry.serde.jsonschema.JsonSchemaKafkaDeserializer;
import io.apicurio.registry.serde.jsonschema.JsonSchemaKafkaSerializer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Apicurio Registry's Avro and JSON Schema serdes (2.x: AvroKafkaSerializer / Deserializer,
 * JsonSchemaKafkaSerializer / Deserializer) in Confluent-compatible mode against Tributary's
 * registry, run as its own process by test/schema-registry/apicurio-schema-registry.test.ts. The
 * serdes speak Apicurio's REST API (v2); with as-confluent, use-id=contentId and headers off they
 * write Confluent's wire format (magic 0, 4-byte id), so Confluent clients read what they write
 * and the other way round.
 *
 * <p>Usage: {@code ApicurioSerdes produce avro|avro-globalid|json <bootstrap> <registry-v2-url>
 * <topic> <schema-json>} reads records as JSON lines on stdin (Avro's JSON encoding for avro),
 * serializes each (auto-registering the schema under the subject {@code <topic>-value}; the JSON
 * Schema serializer reads its schema from the classpath, so the driver puts it there), sends
 * them and prints {@code {"produced":N}}; a failure prints {@code {"error":..., "causes":[...]}}
 * and exits 1. {@code ApicurioSerdes consume avro|avro-globalid|json <bootstrap>
 * <registry-v2-url> <topic> <count>} reads the first count records of partition 0 and prints
 * each as {@code {"schemaId":N,"value":<record as JSON>}}. {@code avro-globalid} is Apicurio's
 * own framing instead of Confluent's (magic 0, an 8-byte globalId; lines say "globalId").
 */
public final class ApicurioSerdes {
  private static final Duration pollTimeout = Duration.ofMillis(500);
  private static final long consumeDeadlineMs = 60_000;
  private static final ObjectMapper mapper = new ObjectMapper();

  private static final String jsonSchemaResource = "tributary-apicurio-schema.json";

  private ApicurioSerdes() {}

  public static void main(String[] args) throws Exception {
    boolean produce = args.length == 6 && args[0].equals("produce");
    boolean consume = args.length == 6 && args[0].equals("consume");
    if (!(produce || consume) || !List.of("avro", "avro-globalid", "json").contains(args[1])) {
      System.err.println(
          "usage: ApicurioSerdes produce avro|avro-globalid|json <bootstrap> <registry> <topic>"
              + " <schema-json>\n"
              + "       ApicurioSerdes consume avro|avro-globalid|json <bootstrap> <registry>"
              + " <topic> <count>");
      System.exit(2);
    }
    boolean json = args[1].equals("json");
    boolean globalIds = args[1].equals("avro-globalid");
    Map<String, Object> serde = serdeConfig(args[3], globalIds);
    try {
      if (produce && !json) {
        produceAvro(args[2], serde, args[4], new Schema.Parser().parse(args[5]));
      } else if (produce) {
        produceJson(args[2], serde, args[4], args[5]);
      } else {
        Deserializer<Object> deserializer =
            json ? new JsonSchemaKafkaDeserializer<>() : new AvroKafkaDeserializer<>();
        deserializer.configure(serde, false);
        consume(args[2], args[4], Integer.parseInt(args[5]), deserializer, globalIds);
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
      System.out.println(mapper.writeValueAsString(line));
      System.exit(1);
    }
  }

  /**
   * The serdes' settings for auto-registration and ids in the payload: Confluent's wire format
   * (4-byte contentId), or with `globalIds` Apicurio's own (8-byte globalId).
   */
  private static Map<String, Object> serdeConfig(String registryUrl, boolean globalIds) {
    Map<String, Object> config = new HashMap<>();
    config.put(SerdeConfig.REGISTRY_URL, registryUrl);
    config.put(SerdeConfig.AUTO_REGISTER_ARTIFACT, true);
    config.put(SerdeConfig.ENABLE_CONFLUENT_ID_HANDLER, !globalIds);
    config.put(SerdeConfig.USE_ID, globalIds ? "globalId" : "contentId");
    config.put(SerdeConfig.ENABLE_HEADERS, false);
    return config;
  }

  private static void produceAvro(
      String bootstrap, Map<String, Object> serde, String topic, Schema schema) throws Exception {
    GenericDatumReader<GenericRecord> reader = new GenericDatumReader<>(schema);
    AvroKafkaSerializer<GenericRecord> serializer = new AvroKafkaSerializer<>();
    serializer.configure(serde, false);
    produce(bootstrap, topic, serializer,
        (text) -> reader.read(null, DecoderFactory.get().jsonDecoder(schema, text)));
  }

  /** The JSON Schema serializer takes its schema from a classpath resource, not the data. */
  private static void produceJson(
      String bootstrap, Map<String, Object> serde, String topic, String schema) throws Exception {
    Path dir = Files.createTempDirectory("apicurio-schema");
    Files.writeString(dir.resolve(jsonSchemaResource), schema);
    ClassLoader parent = Thread.currentThread().getContextClassLoader();
    try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()}, parent)) {
      Thread.currentThread().setContextClassLoader(loader);
      Map<String, Object> config = new HashMap<>(serde);
      config.put(SerdeConfig.SCHEMA_LOCATION, jsonSchemaResource);
      config.put(SerdeConfig.VALIDATION_ENABLED, true);
      JsonSchemaKafkaSerializer<JsonNode> serializer = new JsonSchemaKafkaSerializer<>();
      serializer.configure(config, false);
      produce(bootstrap, topic, serializer, mapper::readTree);
    } finally {
      Files.deleteIfExists(dir.resolve(jsonSchemaResource));
      Files.deleteIfExists(dir);
    }
  }

  /** How a JSON line on stdin becomes the value the serializer takes. */
  private interface ValueReader<T> {
    T read(String text) throws Exception;
  }

  /** Sends every stdin line through the serializer (which the producer then closes). */
  private static <T> void produce(
      String bootstrap, String topic, Serializer<T> serializer, ValueReader<T> values)
      throws Exception {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.RETRIES_CONFIG, 0);
    BufferedReader input =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    int produced = 0;
    try (KafkaProducer<String, T> producer =
        new KafkaProducer<>(props, new StringSerializer(), serializer)) {
      for (String text = input.readLine(); text != null; text = input.readLine()) {
        if (text.isBlank()) continue;
        producer.send(new ProducerRecord<>(topic, 0, null, values.read(text))).get();
        produced += 1;
      }
    }
    System.out.println(mapper.writeValueAsString(Map.of("produced", produced)));
  }

  /** Prints the first `count` records of partition 0 with the id each carries. */
  private static void consume(
      String bootstrap, String topic, int count, Deserializer<Object> deserializer,
      boolean globalIds) throws Exception {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    TopicPartition partition = new TopicPartition(topic, 0);
    int printed = 0;
    long deadline = System.currentTimeMillis() + consumeDeadlineMs;
    try (deserializer;
        KafkaConsumer<byte[], byte[]> consumer =
            new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
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
          ByteBuffer id = ByteBuffer.wrap(record.value(), 1, globalIds ? 8 : 4);
          line.put(globalIds ? "globalId" : "schemaId", globalIds ? id.getLong() : id.getInt());
          // GenericRecord.toString() is the record as JSON; a JsonNode's is JSON too.
          line.put("value", mapper.readTree(String.valueOf(value)));
          System.out.println(mapper.writeValueAsString(line));
          printed += 1;
        }
      }
    }
  }
}
