package dev.tributary.testing;

import static dev.tributary.testing.WireRecords.JSON;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.kafka.clients.admin.AbstractOptions;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.AlterConfigsOptions;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.DeleteConsumerGroupsOptions;
import org.apache.kafka.clients.admin.DeleteRecordsOptions;
import org.apache.kafka.clients.admin.DeleteTopicsOptions;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.clients.admin.DescribeConsumerGroupsOptions;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsOptions;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;

/**
 * The admin operations of the protocol, each through the Java Admin client (one per bootstrap,
 * kept for the driver's life). Every future is awaited for at most the command's remaining
 * time, and each call also carries that bound as its own `timeoutMs` option.
 */
final class AdminOps implements AutoCloseable {
  private static final Duration closeTimeout = Duration.ofSeconds(5);

  private final Map<String, Admin> admins = new TreeMap<>();

  JsonNode run(Command command) throws Exception {
    Admin admin = admin(command.bootstrap());
    switch (command.op) {
      case "createTopic":
        return createTopic(admin, command);
      case "deleteTopic":
        return deleteTopic(admin, command);
      case "listTopics":
        return listTopics(admin, command);
      case "describeConfigs":
        return describeConfigs(admin, command);
      case "alterConfigs":
        return alterConfigs(admin, command);
      case "listOffsets":
        return listOffsets(admin, command);
      case "deleteRecords":
        return deleteRecords(admin, command);
      case "listGroups":
        return listGroups(admin, command);
      case "describeGroup":
        return describeGroup(admin, command);
      case "groupOffsets":
        return groupOffsets(admin, command);
      case "deleteGroup":
        return deleteGroup(admin, command);
      default:
        return null;
    }
  }

  private Admin admin(String bootstrap) {
    return admins.computeIfAbsent(
        bootstrap,
        servers -> {
          Properties props = new Properties();
          props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
          props.put(AdminClientConfig.CLIENT_ID_CONFIG, "tributary-java-driver-admin");
          return Admin.create(props);
        });
  }

  private static <T> T await(KafkaFuture<T> future, Command command) throws Exception {
    return command.await(future);
  }

  /** The Admin call itself expires with the command, so no call outlives it inside the client. */
  private static <T extends AbstractOptions<T>> T bound(T options, Command command) {
    return options.timeoutMs((int) Math.min(Integer.MAX_VALUE, command.remainingMs()));
  }

  private static JsonNode createTopic(Admin admin, Command command) throws Exception {
    // No replication factor: the broker's default (-1 on the wire, CreateTopics v4+).
    NewTopic topic =
        new NewTopic(
            command.text("topic"), Optional.of(command.integer("partitions")), Optional.empty());
    topic.configs(command.stringMap("configs"));
    var options = bound(new CreateTopicsOptions(), command);
    await(admin.createTopics(List.of(topic), options).all(), command);
    return JSON.nullNode();
  }

  private static JsonNode deleteTopic(Admin admin, Command command) throws Exception {
    var options = bound(new DeleteTopicsOptions(), command);
    await(admin.deleteTopics(List.of(command.text("topic")), options).all(), command);
    return JSON.nullNode();
  }

  private static JsonNode listTopics(Admin admin, Command command) throws Exception {
    ArrayNode names = JSON.arrayNode();
    var options = bound(new ListTopicsOptions(), command);
    new TreeSet<>(await(admin.listTopics(options).names(), command)).forEach(names::add);
    return names;
  }

  private static JsonNode describeConfigs(Admin admin, Command command) throws Exception {
    ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, command.text("topic"));
    var options = bound(new DescribeConfigsOptions(), command);
    Config config = await(admin.describeConfigs(List.of(resource), options).all(), command)
        .get(resource);
    ObjectNode result = JSON.objectNode();
    config.entries().stream()
        .sorted(Comparator.comparing(ConfigEntry::name))
        .forEach(entry -> result.put(entry.name(), entry.value()));
    return result;
  }

  private static JsonNode alterConfigs(Admin admin, Command command) throws Exception {
    ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, command.text("topic"));
    Collection<AlterConfigOp> ops = new ArrayList<>();
    command
        .stringMap("configs")
        .forEach(
            (name, value) ->
                ops.add(new AlterConfigOp(new ConfigEntry(name, value), AlterConfigOp.OpType.SET)));
    var options = bound(new AlterConfigsOptions(), command);
    await(admin.incrementalAlterConfigs(Map.of(resource, ops), options).all(), command);
    return JSON.nullNode();
  }

  private static JsonNode listOffsets(Admin admin, Command command) throws Exception {
    TopicPartition partition = command.topicPartition();
    JsonNode spec = command.json.get("spec");
    OffsetSpec offsetSpec;
    if (spec != null && spec.isNumber()) {
      offsetSpec = OffsetSpec.forTimestamp(spec.asLong());
    } else if ("earliest".equals(command.text("spec"))) {
      offsetSpec = OffsetSpec.earliest();
    } else if ("latest".equals(command.text("spec"))) {
      offsetSpec = OffsetSpec.latest();
    } else {
      throw new IllegalArgumentException("listOffsets spec: earliest, latest or a timestamp");
    }
    var options = bound(new ListOffsetsOptions(), command);
    var result = admin.listOffsets(Map.of(partition, offsetSpec), options);
    long offset = await(result.partitionResult(partition), command).offset();
    // The Admin client reports "no offset for this timestamp" as -1.
    return offset < 0 ? JSON.nullNode() : JSON.numberNode(offset);
  }

  private static JsonNode deleteRecords(Admin admin, Command command) throws Exception {
    TopicPartition partition = command.topicPartition();
    RecordsToDelete before = RecordsToDelete.beforeOffset(command.number("beforeOffset"));
    var options = bound(new DeleteRecordsOptions(), command);
    var lowWatermarks = admin.deleteRecords(Map.of(partition, before), options).lowWatermarks();
    long lowWatermark = await(lowWatermarks.get(partition), command).lowWatermark();
    return JSON.numberNode(lowWatermark);
  }

  private static JsonNode listGroups(Admin admin, Command command) throws Exception {
    var options = bound(new ListGroupsOptions(), command);
    List<GroupListing> listings = new ArrayList<>(await(admin.listGroups(options).all(), command));
    listings.sort(Comparator.comparing(GroupListing::groupId));
    ArrayNode result = JSON.arrayNode();
    for (GroupListing listing : listings) {
      ObjectNode group = result.addObject().put("groupId", listing.groupId());
      group.put("state", listing.groupState().map(Object::toString).orElse(null));
      // GroupType prints "Classic"; the protocol uses Kafka's wire names ("classic", "consumer").
      group.put("type", listing.type().map(AdminOps::wireName).orElse(null));
    }
    return result;
  }

  private static String wireName(Object groupType) {
    return groupType.toString().toLowerCase(Locale.ROOT);
  }

  private static JsonNode describeGroup(Admin admin, Command command) throws Exception {
    String groupId = command.text("groupId");
    var options = bound(new DescribeConsumerGroupsOptions(), command);
    var described = admin.describeConsumerGroups(List.of(groupId), options).describedGroups();
    ConsumerGroupDescription description = await(described.get(groupId), command);
    ObjectNode result = JSON.objectNode().put("groupId", description.groupId());
    result.put("state", description.groupState().toString());
    ArrayNode members = result.putArray("members");
    List<MemberDescription> sorted = new ArrayList<>(description.members());
    sorted.sort(Comparator.comparing(MemberDescription::consumerId));
    for (MemberDescription member : sorted) {
      ObjectNode node = members.addObject();
      node.put("memberId", member.consumerId());
      node.put("clientId", member.clientId());
      node.set("assignment", WireRecords.topicPartitions(member.assignment().topicPartitions()));
    }
    return result;
  }

  private static JsonNode groupOffsets(Admin admin, Command command) throws Exception {
    var options = bound(new ListConsumerGroupOffsetsOptions(), command);
    var listed = admin.listConsumerGroupOffsets(command.text("groupId"), options);
    Map<TopicPartition, OffsetAndMetadata> offsets =
        await(listed.partitionsToOffsetAndMetadata(), command);
    ArrayNode result = JSON.arrayNode();
    for (TopicPartition partition : WireRecords.sorted(offsets.keySet())) {
      OffsetAndMetadata committed = offsets.get(partition);
      if (committed == null) continue;
      result.add(WireRecords.topicPartition(partition).put("offset", committed.offset()));
    }
    return result;
  }

  private static JsonNode deleteGroup(Admin admin, Command command) throws Exception {
    var options = bound(new DeleteConsumerGroupsOptions(), command);
    await(admin.deleteConsumerGroups(List.of(command.text("groupId")), options).all(), command);
    return JSON.nullNode();
  }

  @Override
  public void close() {
    admins.values().forEach(admin -> admin.close(closeTimeout));
    admins.clear();
  }
}
