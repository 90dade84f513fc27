package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tributary/testing-go/internal/lineproto"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupMember is this process's one group consumer; the rebalance callbacks keep its assignment.
type groupMember struct {
	client   *kgo.Client
	mu       sync.Mutex
	assigned map[string]map[int32]bool
}

func (m *groupMember) change(partitions map[string][]int32, add bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for topic, list := range partitions {
		if m.assigned[topic] == nil {
			m.assigned[topic] = map[int32]bool{}
		}
		for _, partition := range list {
			if add {
				m.assigned[topic][partition] = true
			} else {
				delete(m.assigned[topic], partition)
			}
		}
	}
}

func (m *groupMember) assignment() []lineproto.TopicPartition {
	m.mu.Lock()
	defer m.mu.Unlock()
	list := []lineproto.TopicPartition{}
	for topic, partitions := range m.assigned {
		for partition := range partitions {
			list = append(list, lineproto.TopicPartition{Topic: topic, Partition: partition})
		}
	}
	lineproto.SortPartitions(list)
	return list
}

// requireKIP848 checks the broker offers ConsumerGroupHeartbeat v1 (KIP-848): without it
// franz-go's ServerSideBalancer silently falls back to the classic protocol, and the test asked
// for the consumer protocol.
func (d *driver) requireKIP848(ctx context.Context, bootstrap string) error {
	cl, err := d.adminClient(bootstrap)
	if err != nil {
		return err
	}
	versions, err := kadm.NewClient(cl).ApiVersions(ctx)
	if err != nil {
		return err
	}
	for _, broker := range versions {
		if broker.Err != nil {
			return broker.Err
		}
		if max, ok := broker.KeyMaxVersion(kmsg.ConsumerGroupHeartbeat.Int16()); !ok || max < 1 {
			return fmt.Errorf("broker %d does not offer ConsumerGroupHeartbeat v1 (KIP-848), "+
				"franz-go would fall back to the classic protocol: %w",
				broker.NodeID, kerr.UnsupportedVersion)
		}
	}
	return nil
}

func (d *driver) subscribe(ctx context.Context, cmd *lineproto.Command) error {
	if d.member != nil {
		return lineproto.ErrHasConsumer
	}
	member := &groupMember{assigned: map[string]map[int32]bool{}}
	opts := append(baseOpts(cmd.Bootstrap),
		kgo.ConsumerGroup(cmd.GroupID),
		kgo.ConsumeTopics(cmd.Topics...),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(isolation(cmd)),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, p map[string][]int32) {
			member.change(p, true)
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, p map[string][]int32) {
			member.change(p, false)
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, p map[string][]int32) {
			member.change(p, false)
		}),
	)
	switch cmd.GroupProtocol {
	case "", "classic":
	case "consumer":
		if err := d.requireKIP848(ctx, cmd.Bootstrap); err != nil {
			return err
		}
		// The default balancer (cooperative-sticky) names the server-side "uniform" assignor.
		opts = append(opts, kgo.ServerSideBalancer())
	default:
		return fmt.Errorf("unknown groupProtocol %q", cmd.GroupProtocol)
	}
	if cmd.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(cmd.InstanceID))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	member.client = cl
	d.member = member
	return nil
}

func (d *driver) requireMember() (*groupMember, error) {
	if d.member == nil {
		return nil, lineproto.ErrNoConsumer
	}
	return d.member, nil
}

// poll collects records for durationMs or until maxRecords; only the records returned count as
// consumed, so commit covers exactly what the test saw.
func (d *driver) poll(ctx context.Context, cmd *lineproto.Command) (any, error) {
	member, err := d.requireMember()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(cmd.DurationMs)*time.Millisecond)
	defer cancel()
	records := []lineproto.Record{}
	for ctx.Err() == nil && (cmd.MaxRecords <= 0 || len(records) < cmd.MaxRecords) {
		limit := cmd.MaxRecords - len(records)
		if cmd.MaxRecords <= 0 {
			limit = -1
		}
		fetches := member.client.PollRecords(ctx, limit)
		if fetches.IsClientClosed() {
			return nil, kgo.ErrClientClosed
		}
		logFetchErrors(fetches)
		fetches.EachRecord(func(r *kgo.Record) { records = append(records, fromRecord(r, true)) })
	}
	return lineproto.Polled{Records: records, Assignment: member.assignment()}, nil
}

func (d *driver) commit(ctx context.Context) error {
	member, err := d.requireMember()
	if err != nil {
		return err
	}
	return member.client.CommitUncommittedOffsets(ctx)
}

func (d *driver) closeConsumer(ctx context.Context) error {
	member, err := d.requireMember()
	if err != nil {
		return err
	}
	d.member = nil
	defer member.client.Close()
	return member.client.LeaveGroupContext(ctx)
}
