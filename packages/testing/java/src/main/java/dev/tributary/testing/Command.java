package dev.tributary.testing;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.common.TopicPartition;

/**
 * One command line of the protocol, with typed accessors and its deadline. `timeoutMs` bounds
 * the whole command, so every blocking call takes `remaining()` rather than the full budget.
 */
final class Command {
  private static final long defaultTimeoutMs = 60_000;

  final JsonNode json;
  final String op;
  final String bootstrap;
  final long timeoutMs;
  private final long deadlineNanos;

  Command(JsonNode json) {
    this.json = json;
    this.op = json.path("op").asText();
    this.bootstrap = json.path("bootstrap").asText(null);
    this.timeoutMs = number("timeoutMs", defaultTimeoutMs);
    this.deadlineNanos = System.nanoTime() + Duration.ofMillis(timeoutMs).toNanos();
  }

  /** Time left before the deadline, at least 1 ms so a client call still fails cleanly. */
  long remainingMs() {
    return Math.max(1, Duration.ofNanos(deadlineNanos - System.nanoTime()).toMillis());
  }

  Duration remaining() {
    return Duration.ofMillis(remainingMs());
  }

  /** Waits for a client future within the deadline; a timeout names the command. */
  <T> T await(Future<T> future) throws Exception {
    try {
      return future.get(remainingMs(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException timeout) {
      throw new TimeoutException(op + " did not finish within timeoutMs " + timeoutMs);
    }
  }

  boolean expired() {
    return System.nanoTime() - deadlineNanos >= 0;
  }

  String text(String field) {
    JsonNode node = json.get(field);
    if (node == null || node.isNull()) {
      throw new IllegalArgumentException("command " + op + " needs field " + field);
    }
    return node.asText();
  }

  String text(String field, String fallback) {
    JsonNode node = json.get(field);
    return node == null || node.isNull() ? fallback : node.asText();
  }

  int integer(String field) {
    return (int) number(field);
  }

  long number(String field) {
    JsonNode node = json.get(field);
    if (node == null || !node.isNumber()) {
      throw new IllegalArgumentException("command " + op + " needs number " + field);
    }
    return node.asLong();
  }

  long number(String field, long fallback) {
    JsonNode node = json.get(field);
    return node == null || node.isNull() ? fallback : node.asLong();
  }

  TopicPartition topicPartition() {
    return new TopicPartition(text("topic"), integer("partition"));
  }

  /** `read_committed` unless the command says otherwise, as the protocol's default. */
  String isolationLevel() {
    return text("isolationLevel", "read_committed");
  }

  boolean flag(String field) {
    return json.path(field).asBoolean(false);
  }

  String bootstrap() {
    if (bootstrap == null) throw new IllegalArgumentException("command " + op + " needs bootstrap");
    return bootstrap;
  }

  List<String> strings(String field) {
    List<String> values = new ArrayList<>();
    json.path(field).forEach(node -> values.add(node.asText()));
    return values;
  }

  Map<String, String> stringMap(String field) {
    Map<String, String> values = new LinkedHashMap<>();
    json.path(field).properties().forEach(e -> values.put(e.getKey(), e.getValue().asText()));
    return values;
  }
}
