package main

import (
	"context"
	"errors"
	"log"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/tributary/testing-go/internal/lineproto"
)

const commitErrorGrace = 100 * time.Millisecond

// delivery hands one message from a claim's goroutine to poll, with the session it belongs to.
type delivery struct {
	message *sarama.ConsumerMessage
	session sarama.ConsumerGroupSession
}

// groupMember is this process's one group consumer. sarama's Consume loop runs in a goroutine;
// its claims hand messages to poll over an unbuffered channel, so nothing is taken from a claim
// that poll does not return, and a message whose session has ended is dropped, not returned.
type groupMember struct {
	group    sarama.ConsumerGroup
	cancel   context.CancelFunc
	finished chan struct{}
	handoff  chan delivery

	mu      sync.Mutex
	session sarama.ConsumerGroupSession
	errs    []error
}

func (m *groupMember) Setup(session sarama.ConsumerGroupSession) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.session = session
	return nil
}

func (m *groupMember) Cleanup(session sarama.ConsumerGroupSession) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.session == session {
		m.session = nil
	}
	return nil
}

func (m *groupMember) ConsumeClaim(
	session sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim,
) error {
	for {
		select {
		case message, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			select {
			case m.handoff <- delivery{message, session}:
			case <-session.Context().Done():
				return nil
			}
		case <-session.Context().Done():
			return nil
		}
	}
}

func (m *groupMember) current() sarama.ConsumerGroupSession {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.session
}

// run is the Consume loop: Consume returns at every rebalance and is called again.
func (m *groupMember) run(ctx context.Context, topics []string) {
	defer close(m.finished)
	for ctx.Err() == nil {
		err := m.group.Consume(ctx, topics, m)
		if errors.Is(err, sarama.ErrClosedConsumerGroup) {
			return
		}
		if err != nil {
			log.Printf("Consume: %v", err)
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
}

// collectErrors keeps the group's errors (Consumer.Return.Errors) so commit can report its own.
func (m *groupMember) collectErrors() {
	for err := range m.group.Errors() {
		log.Printf("consumer group: %v", err)
		m.mu.Lock()
		m.errs = append(m.errs, err)
		m.mu.Unlock()
	}
}

func (m *groupMember) takeErrors() []error {
	m.mu.Lock()
	defer m.mu.Unlock()
	errs := m.errs
	m.errs = nil
	return errs
}

func (d *driver) subscribe(cmd *lineproto.Command) error {
	if d.member != nil {
		return lineproto.ErrHasConsumer
	}
	switch cmd.GroupProtocol {
	case "", "classic":
	case "consumer":
		return &lineproto.Unsupported{Reason: "sarama implements only the classic group protocol, " +
			"not KIP-848's consumer protocol"}
	default:
		return errors.New("unknown groupProtocol " + cmd.GroupProtocol)
	}
	cfg := newConfig(cmd)
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.IsolationLevel = isolation(cmd)
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.Group.InstanceId = cmd.InstanceID
	group, err := sarama.NewConsumerGroup([]string{cmd.Bootstrap}, cmd.GroupID, cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	member := &groupMember{
		group: group, cancel: cancel, finished: make(chan struct{}), handoff: make(chan delivery),
	}
	go member.collectErrors()
	go member.run(ctx, cmd.Topics)
	d.member = member
	return nil
}

func (d *driver) requireMember() (*groupMember, error) {
	if d.member == nil {
		return nil, lineproto.ErrNoConsumer
	}
	return d.member, nil
}

// poll takes what the claims hand over for durationMs or until maxRecords, marking each returned
// message consumed in its session, so commit covers exactly what the test saw.
func (d *driver) poll(cmd *lineproto.Command) (any, error) {
	member, err := d.requireMember()
	if err != nil {
		return nil, err
	}
	timer := time.NewTimer(time.Duration(cmd.DurationMs) * time.Millisecond)
	defer timer.Stop()
	records := []lineproto.Record{}
collect:
	for cmd.MaxRecords <= 0 || len(records) < cmd.MaxRecords {
		select {
		case got := <-member.handoff:
			if got.session.Context().Err() != nil {
				continue
			}
			got.session.MarkMessage(got.message, "")
			records = append(records, fromMessage(got.message, true))
		case <-member.finished:
			return nil, errors.New("IllegalState: the consumer group has closed")
		case <-timer.C:
			break collect
		}
	}
	assignment := []lineproto.TopicPartition{}
	if session := member.current(); session != nil {
		for topic, partitions := range session.Claims() {
			for _, partition := range partitions {
				assignment = append(assignment,
					lineproto.TopicPartition{Topic: topic, Partition: partition})
			}
		}
	}
	lineproto.SortPartitions(assignment)
	return lineproto.Polled{Records: records, Assignment: assignment}, nil
}

// commit commits the marked offsets through the current session (sarama's commit is
// synchronous; its errors arrive on the group's error channel).
func (d *driver) commit(cmd *lineproto.Command) error {
	member, err := d.requireMember()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(cmd.CollectWindow())
	session := member.current()
	for session == nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		session = member.current()
	}
	if session == nil {
		return errors.New("TimeoutException: no group session to commit in (still rebalancing)")
	}
	member.takeErrors()
	session.Commit()
	// A failed commit's error reaches the group's channel through a forwarding goroutine.
	time.Sleep(commitErrorGrace)
	if errs := member.takeErrors(); len(errs) > 0 {
		return errs[0]
	}
	return nil
}

func (d *driver) closeConsumer() error {
	member, err := d.requireMember()
	if err != nil {
		return err
	}
	d.member = nil
	member.cancel()
	err = member.group.Close()
	<-member.finished
	return err
}
