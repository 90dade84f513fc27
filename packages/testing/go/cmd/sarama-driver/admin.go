package main

import (
	"fmt"
	"sort"

	"github.com/IBM/sarama"
	"github.com/tributary/testing-go/internal/lineproto"
)

func (d *driver) admin(cmd *lineproto.Command) (any, error) {
	client, admin, err := d.adminClient(cmd)
	if err != nil {
		return nil, err
	}
	switch cmd.Op {
	case "createTopic":
		configs := map[string]*string{}
		for name, value := range cmd.Configs {
			configs[name] = &value
		}
		detail := &sarama.TopicDetail{
			NumPartitions: cmd.Partitions, ReplicationFactor: -1, ConfigEntries: configs,
		}
		return nil, admin.CreateTopic(cmd.Topic, detail, false)
	case "deleteTopic":
		return nil, admin.DeleteTopic(cmd.Topic)
	case "listTopics":
		return listTopics(admin)
	case "describeConfigs":
		return describeConfigs(admin, cmd.Topic)
	case "alterConfigs":
		return nil, alterConfigs(admin, cmd)
	case "listOffsets":
		return listOffsets(client, cmd)
	case "deleteRecords":
		return deleteRecords(client, admin, cmd)
	case "listGroups":
		return listGroups(client, admin)
	case "describeGroup":
		return describeGroup(admin, cmd.GroupID)
	case "groupOffsets":
		return groupOffsets(admin, cmd.GroupID)
	case "deleteGroup":
		return nil, admin.DeleteConsumerGroup(cmd.GroupID)
	}
	return nil, lineproto.ErrUnknownOp(cmd.Op)
}

func listTopics(admin sarama.ClusterAdmin) (any, error) {
	topics, err := admin.ListTopics()
	if err != nil {
		return nil, err
	}
	names := []string{}
	for name := range topics {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

func describeConfigs(admin sarama.ClusterAdmin, topic string) (any, error) {
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic})
	if err != nil {
		return nil, err
	}
	configs := map[string]string{}
	for _, entry := range entries {
		configs[entry.Name] = entry.Value
	}
	return configs, nil
}

func alterConfigs(admin sarama.ClusterAdmin, cmd *lineproto.Command) error {
	entries := map[string]sarama.IncrementalAlterConfigsEntry{}
	for name, value := range cmd.Configs {
		entries[name] = sarama.IncrementalAlterConfigsEntry{
			Operation: sarama.IncrementalAlterConfigsOperationSet, Value: &value,
		}
	}
	return admin.IncrementalAlterConfig(sarama.TopicResource, cmd.Topic, entries, false)
}

// listOffsets asks the partition leader; a timestamp no record reaches answers -1, sent as null.
func listOffsets(client sarama.Client, cmd *lineproto.Command) (any, error) {
	spec, err := cmd.ParseSpec()
	if err != nil {
		return nil, err
	}
	time := spec.Timestamp
	switch {
	case spec.Earliest:
		time = sarama.OffsetOldest
	case spec.Latest:
		time = sarama.OffsetNewest
	}
	offset, err := client.GetOffset(cmd.Topic, cmd.Partition, time)
	if err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, nil
	}
	return offset, nil
}

// deleteRecords: sarama's DeleteRecords does not return the new low watermark, so it is listed
// afterwards (the earliest offset).
func deleteRecords(
	client sarama.Client, admin sarama.ClusterAdmin, cmd *lineproto.Command,
) (any, error) {
	offsets := map[int32]int64{cmd.Partition: cmd.BeforeOffset}
	if err := admin.DeleteRecords(cmd.Topic, offsets); err != nil {
		return nil, err
	}
	return client.GetOffset(cmd.Topic, cmd.Partition, sarama.OffsetOldest)
}

// listGroups sends ListGroups v5 to every broker itself: sarama's ListConsumerGroups sends the
// same request but keeps only each group's protocol type, not its state and type.
func listGroups(client sarama.Client, admin sarama.ClusterAdmin) (any, error) {
	if _, err := admin.ListConsumerGroups(); err != nil {
		return nil, err
	}
	listed := []lineproto.ListedGroup{}
	for _, broker := range client.Brokers() {
		if err := broker.Open(client.Config()); err != nil && err != sarama.ErrAlreadyConnected {
			return nil, err
		}
		response, err := broker.ListGroups(&sarama.ListGroupsRequest{Version: 5})
		if err != nil {
			return nil, err
		}
		if err := errorOf(response.Err); err != nil {
			return nil, err
		}
		for groupID := range response.Groups {
			data := response.GroupsData[groupID]
			listed = append(listed, lineproto.ListedGroup{
				GroupID: groupID,
				State:   lineproto.Optional(data.GroupState),
				Type:    lineproto.Optional(data.GroupType),
			})
		}
	}
	sort.Slice(listed, func(i, j int) bool { return listed[i].GroupID < listed[j].GroupID })
	return listed, nil
}

func describeGroup(admin sarama.ClusterAdmin, groupID string) (any, error) {
	groups, err := admin.DescribeConsumerGroups([]string{groupID})
	if err != nil {
		return nil, err
	}
	if len(groups) != 1 {
		return nil, fmt.Errorf("DescribeGroups answered %d groups for %s", len(groups), groupID)
	}
	group := groups[0]
	if err := errorOf(group.Err); err != nil {
		return nil, err
	}
	described := lineproto.DescribedGroup{
		GroupID: group.GroupId, State: group.State, Members: []lineproto.DescribedMember{},
	}
	for memberID, member := range group.Members {
		assignment := []lineproto.TopicPartition{}
		if assigned, err := member.GetMemberAssignment(); err == nil && assigned != nil {
			for topic, partitions := range assigned.Topics {
				for _, partition := range partitions {
					assignment = append(assignment,
						lineproto.TopicPartition{Topic: topic, Partition: partition})
				}
			}
		}
		lineproto.SortPartitions(assignment)
		described.Members = append(described.Members, lineproto.DescribedMember{
			MemberID: memberID, ClientID: member.ClientId, Assignment: assignment,
		})
	}
	sort.Slice(described.Members, func(i, j int) bool {
		return described.Members[i].MemberID < described.Members[j].MemberID
	})
	return described, nil
}

func groupOffsets(admin sarama.ClusterAdmin, groupID string) (any, error) {
	response, err := admin.ListConsumerGroupOffsets(groupID, nil)
	if err != nil {
		return nil, err
	}
	// OffsetFetch v8+ answers per group; older versions answer at the top level.
	blocks := response.Blocks
	for _, group := range response.Groups {
		if group.GroupId == groupID {
			blocks = group.Blocks
		}
	}
	offsets := []lineproto.CommittedOffset{}
	for topic, partitions := range blocks {
		for partition, block := range partitions {
			if err := errorOf(block.Err); err != nil {
				return nil, err
			}
			if block.Offset >= 0 {
				offsets = append(offsets, lineproto.CommittedOffset{
					Topic: topic, Partition: partition, Offset: block.Offset,
				})
			}
		}
	}
	lineproto.SortOffsets(offsets)
	return offsets, nil
}
