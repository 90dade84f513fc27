package dev.tributary.testing;

import static dev.tributary.testing.WireRecords.JSON;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.ApiException;
import org.apache.kafka.common.protocol.Errors;

/**
 * The Apache Kafka Java client behind the line protocol of packages/testing/DRIVER-PROTOCOL.md:
 * one JSON command per stdin line, one JSON answer per stdout line, in order, one command at a
 * time. A failed command is an answer carrying the exception and, when the client tells one,
 * Kafka's error name (`Errors.forException`); the driver stays usable. On EOF it closes its
 * clients and exits 0.
 *
 * stdout belongs to the protocol: System.out is pointed at stderr before any client class
 * loads, so nothing a library prints can corrupt an answer line.
 */
public final class LineDriver implements AutoCloseable {
  private final ObjectMapper mapper = new ObjectMapper();
  private final PrintStream answers;
  private final AdminOps admin = new AdminOps();
  private final RecordOps records = new RecordOps();
  private final GroupMember member = new GroupMember();

  private LineDriver(PrintStream answers) {
    this.answers = answers;
  }

  public static void main(String[] args) throws Exception {
    PrintStream protocolOut = new PrintStream(System.out, false, StandardCharsets.UTF_8);
    System.setOut(System.err);
    try (LineDriver driver = new LineDriver(protocolOut)) {
      driver.serve(new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)));
    }
    protocolOut.flush();
    // Client threads (metadata refresh, heartbeats) must not keep a finished driver alive.
    System.exit(0);
  }

  private void serve(BufferedReader in) throws Exception {
    ObjectNode ready = JSON.objectNode().put("ready", true).put("client", "kafka-clients");
    ready.put("version", clientVersion());
    write(ready);
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      if (line.isBlank()) continue;
      write(answer(line));
    }
  }

  /** kafka-clients' own version file (AppInfoParser reads the same, but is internal API). */
  private static String clientVersion() throws java.io.IOException {
    java.util.Properties props = new java.util.Properties();
    try (var in = KafkaException.class.getResourceAsStream("/kafka/kafka-version.properties")) {
      if (in != null) props.load(in);
    }
    return props.getProperty("version", "unknown");
  }

  private void write(JsonNode node) throws Exception {
    answers.println(mapper.writeValueAsString(node));
    answers.flush();
  }

  private ObjectNode answer(String line) {
    JsonNode id = JSON.nullNode();
    try {
      JsonNode json = mapper.readTree(line);
      id = json.path("id");
      JsonNode result = dispatch(new Command(json));
      ObjectNode ok = JSON.objectNode().set("id", id);
      return ok.put("ok", true).set("result", result);
    } catch (Throwable error) {
      return failure(id, error);
    }
  }

  private JsonNode dispatch(Command command) throws Exception {
    switch (command.op) {
      case "produce":
        return records.produce(command);
      case "transactionalProduce":
        return records.transactionalProduce(command);
      case "transactionalCopy":
        return TransactionalCopy.run(command);
      case "consumeAll":
        return records.consumeAll(command);
      case "subscribe":
        return member.subscribe(command);
      case "poll":
        return member.poll(command);
      case "commit":
        return member.commit(command);
      case "closeConsumer":
        return member.closeConsumer(command);
      default:
        JsonNode result = admin.run(command);
        if (result == null) {
          throw new UnsupportedOperationException("Unsupported: unknown op " + command.op);
        }
        return result;
    }
  }

  /** The answer for a failed command: the most telling exception, and Kafka's error name. */
  static ObjectNode failure(JsonNode id, Throwable thrown) {
    Throwable error = unwrap(thrown);
    ObjectNode answer = JSON.objectNode().set("id", id);
    answer.put("ok", false);
    String message = error.getMessage() == null ? "" : error.getMessage();
    if (error instanceof UnsupportedOperationException && message.startsWith("Unsupported:")) {
      answer.put("error", message);
    } else {
      answer.put("error", error.getClass().getSimpleName() + ": " + message);
    }
    ApiException api = apiException(thrown);
    if (api != null) answer.put("code", Errors.forException(api).name());
    return answer;
  }

  /** Futures wrap the client's exception; the answer names the one the client raised. */
  private static Throwable unwrap(Throwable error) {
    Throwable current = error;
    while ((current instanceof ExecutionException || current instanceof CompletionException)
        && current.getCause() != null) {
      current = current.getCause();
    }
    return current;
  }

  /** The first ApiException in the cause chain (a KafkaException may wrap one). */
  private static ApiException apiException(Throwable error) {
    for (Throwable current = error; current != null; current = current.getCause()) {
      if (current instanceof ApiException) return (ApiException) current;
      if (!(current instanceof KafkaException
          || current instanceof ExecutionException
          || current instanceof CompletionException)) {
        return null;
      }
      if (current.getCause() == current) return null;
    }
    return null;
  }

  /** Closes every client; a client failing to close is logged, and the driver still exits 0. */
  @Override
  public void close() {
    for (AutoCloseable client : new AutoCloseable[] {member, records, admin}) {
      try {
        client.close();
      } catch (Exception error) {
        System.err.println("closing " + client.getClass().getSimpleName() + ": " + error);
      }
    }
  }
}
