package dev.tributary.testing;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;

/**
 * Kafka Streams word count with exactly_once_v2, run as its own process by
 * test/clients/java-streams.test.ts. Input: sentences (String values); output: word (String
 * key) -> count (Long value, 8 bytes big-endian), one update per word per commit. The counts go
 * through a repartition topic and a changelog topic that Streams creates itself, so the broker
 * serves Streams' admin calls, transactions across three topics and read_committed fetches.
 *
 * Args: bootstrap, input topic, output topic, application id, state dir, and optionally the
 * commit interval in ms (default 200; a long one keeps transactions open for the test that
 * kills the app inside one). Runs until SIGTERM (or stdin EOF), then closes cleanly. Prints
 * `{"state":"RUNNING"}` (and each later state) as a line on stdout so the test can wait for it;
 * exits 1 if Streams dies.
 */
public final class WordCount {
  private static final long defaultCommitIntervalMs = 200;
  private static final int sessionMs = 10_000;
  private static final int heartbeatMs = 1_000;

  private WordCount() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 5 && args.length != 6) {
      System.err.println(
          "usage: WordCount <bootstrap> <input> <output> <app-id> <state-dir> [commit-ms]");
      System.exit(2);
    }
    long commitIntervalMs = args.length == 6 ? Long.parseLong(args[5]) : defaultCommitIntervalMs;
    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(args[1], Consumed.with(Serdes.String(), Serdes.String()))
        .flatMapValues(sentence -> Arrays.asList(sentence.toLowerCase(Locale.ROOT).split("\\W+")))
        .filter((key, word) -> !word.isEmpty())
        .groupBy((key, word) -> word)
        .count(Materialized.as("word-counts"))
        .toStream()
        .to(args[2], Produced.with(Serdes.String(), Serdes.Long()));

    Properties props = new Properties();
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, args[3]);
    props.put(StreamsConfig.STATE_DIR_CONFIG, Path.of(args[4]).toString());
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, commitIntervalMs);
    props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    // A SIGKILLed instance leaves the group after this, not after the 45 s default, so the test
    // that kills and restarts the app does not wait on the session of a dead member.
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), sessionMs);
    props.put(
        StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), heartbeatMs);

    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    CountDownLatch done = new CountDownLatch(1);
    streams.setStateListener(
        (now, before) -> {
          System.out.println("{\"state\":\"" + now + "\"}");
          System.out.flush();
          if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) {
            done.countDown();
          }
        });
    Runtime.getRuntime().addShutdownHook(new Thread(streams::close));
    Thread stdinWatcher =
        new Thread(
            () -> {
              try {
                while (System.in.read() >= 0) {
                  // Drain: the test closes stdin to stop the app.
                }
              } catch (java.io.IOException ignored) {
                // stdin gone: stop as on EOF.
              }
              streams.close();
            });
    stdinWatcher.setDaemon(true);
    streams.start();
    stdinWatcher.start();
    done.await();
    System.exit(streams.state() == KafkaStreams.State.ERROR ? 1 : 0);
  }
}
