package main

import (
	"fmt"
	"sort"

	"github.com/IBM/sarama"
	"github.com/tributary/testing-go/internal/lineproto"
)

type topicPartition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

type committedOffset struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

type listedGroup struct {
	GroupID string  `json:"groupId"`
	State   *string `json:"state"`
	Type    *string `json:"type"`
}

type describedMember struct {
	MemberID   string           `json:"memberId"`
	ClientID   string           `json:"clientId"`
	Assignment []topicPartition `json:"assignment"`
}

type describedGroup struct {
	GroupID string            `json:"groupId"`
	State   string            `json:"state"`
	Members []describedMember `json:"members"`
}

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

func optional(text string) *string {
	if text == "" {
		return nil
	}
	return &text
}

// listGroups sends ListGroups v5 to every broker itself: sarama's ListConsumerGroups sends the
// same request but keeps only each group's protocol type, not its state and type.
func listGroups(client sarama.Client, admin sarama.ClusterAdmin) (any, error) {
	if _, err := admin.ListConsumerGroups(); err != nil {
		return nil, err
	}
	listed := []listedGroup{}
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
			listed = append(listed, listedGroup{
				GroupID: groupID, State: optional(data.GroupState), Type: optional(data.GroupType),
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
	described := describedGroup{GroupID: group.GroupId, State: group.State, Members: []describedMember{}}
	for memberID, member := range group.Members {
		assignment := []topicPartition{}
		if assigned, err := member.GetMemberAssignment(); err == nil && assigned != nil {
			for topic, partitions := range assigned.Topics {
				for _, partition := range partitions {
					assignment = append(assignment, topicPartition{topic, partition})
				}
			}
		}
		sortPartitions(assignment)
		described.Members = append(described.Members, describedMember{
			MemberID: memberID, ClientID: member.ClientId, Assignment: assignment,
		})
	}
	sort.Slice(described.Members, func(i, j int) bool {
		return described.Members[i].MemberID < described.Members[j].MemberID
	})
	return described, nil
}

func sortPartitions(list []topicPartition) {
	sort.Slice(list, func(i, j int) bool {
		if list[i].Topic != list[j].Topic {
			return list[i].Topic < list[j].Topic
		}
		return list[i].Partition < list[j].Partition
	})
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
	offsets := []committedOffset{}
	for topic, partitions := range blocks {
		for partition, block := range partitions {
			if err := errorOf(block.Err); err != nil {
				return nil, err
			}
			if block.Offset >= 0 {
				offsets = append(offsets, committedOffset{topic, partition, block.Offset})
			}
		}
	}
	sort.Slice(offsets, func(i, j int) bool {
		if offsets[i].Topic != offsets[j].Topic {
			return offsets[i].Topic < offsets[j].Topic
		}
		return offsets[i].Partition < offsets[j].Partition
	})
	return offsets, nil
}
