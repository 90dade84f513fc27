package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/tributary/testing-go/internal/lineproto"
)

func codec(name string) (sarama.CompressionCodec, error) {
	switch name {
	case "", "none":
		return sarama.CompressionNone, nil
	case "gzip":
		return sarama.CompressionGZIP, nil
	case "snappy":
		return sarama.CompressionSnappy, nil
	case "lz4":
		return sarama.CompressionLZ4, nil
	case "zstd":
		return sarama.CompressionZSTD, nil
	}
	return sarama.CompressionNone, fmt.Errorf("unknown compression %q", name)
}

// producerConfig: acks=all, each record to its own partition; idempotence needs one request in
// flight per connection in sarama.
func producerConfig(cmd *lineproto.Command, idempotent bool) *sarama.Config {
	cfg := newConfig(cmd)
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Producer.Return.Errors = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.Idempotent = idempotent
	if idempotent {
		cfg.Net.MaxOpenRequests = 1
	}
	return cfg
}

func toMessages(topic string, wire []lineproto.Record) ([]*sarama.ProducerMessage, error) {
	messages := make([]*sarama.ProducerMessage, 0, len(wire))
	for _, w := range wire {
		decoded, err := w.Decode()
		if err != nil {
			return nil, err
		}
		message := &sarama.ProducerMessage{Topic: topic, Partition: decoded.Partition}
		// A nil key or value stays a nil Encoder, so sarama sends null rather than empty bytes.
		if decoded.Key != nil {
			message.Key = sarama.ByteEncoder(decoded.Key)
		}
		if decoded.Value != nil {
			message.Value = sarama.ByteEncoder(decoded.Value)
		}
		for _, h := range decoded.Headers {
			message.Headers = append(message.Headers,
				sarama.RecordHeader{Key: []byte(h.Name), Value: h.Value})
		}
		if decoded.Timestamp != nil {
			message.Timestamp = *decoded.Timestamp
		}
		messages = append(messages, message)
	}
	return messages, nil
}

func fromMessage(m *sarama.ConsumerMessage, withTopic bool) lineproto.Record {
	wire := lineproto.Consumed(m.Partition, m.Offset, m.Key, m.Value, m.Timestamp)
	if withTopic {
		wire.Topic = m.Topic
	}
	for _, h := range m.Headers {
		wire.AddHeader(string(h.Key), h.Value)
	}
	return wire
}

// produce keeps one SyncProducer per settings, so an idempotent producer keeps its id across
// commands; a failed producer is dropped and rebuilt on the next command.
func (d *driver) produce(cmd *lineproto.Command) (any, error) {
	compression, err := codec(cmd.Compression)
	if err != nil {
		return nil, err
	}
	messages, err := toMessages(cmd.Topic, cmd.Records)
	if err != nil {
		return nil, err
	}
	key := cmd.ProducerKey()
	producer, ok := d.producers[key]
	if !ok {
		cfg := producerConfig(cmd, key.Idempotent)
		cfg.Producer.Compression = compression
		if producer, err = sarama.NewSyncProducer([]string{cmd.Bootstrap}, cfg); err != nil {
			return nil, err
		}
		d.producers[key] = producer
	}
	if err := producer.SendMessages(messages); err != nil {
		delete(d.producers, key)
		_ = producer.Close()
		return nil, err
	}
	answer := make([]lineproto.Produced, 0, len(messages))
	for _, message := range messages {
		answer = append(answer,
			lineproto.Produced{Partition: message.Partition, Offset: message.Offset})
	}
	return answer, nil
}

func isolation(cmd *lineproto.Command) sarama.IsolationLevel {
	if cmd.ReadCommitted() {
		return sarama.ReadCommitted
	}
	return sarama.ReadUncommitted
}

// consumeAll reads every partition from the oldest offset with one partition consumer each.
func consumeAll(cmd *lineproto.Command) (any, error) {
	deadline := time.After(cmd.CollectWindow())
	cfg := newConfig(cmd)
	cfg.Consumer.IsolationLevel = isolation(cmd)
	consumer, err := sarama.NewConsumer([]string{cmd.Bootstrap}, cfg)
	if err != nil {
		return nil, err
	}
	defer func() { _ = consumer.Close() }()
	merged := make(chan *sarama.ConsumerMessage)
	stop := make(chan struct{})
	var forwarders sync.WaitGroup
	defer forwarders.Wait()
	defer close(stop)
	for partition := range cmd.Partitions {
		pc, err := consumer.ConsumePartition(cmd.Topic, partition, sarama.OffsetOldest)
		if err != nil {
			return nil, err
		}
		forwarders.Add(1)
		go func() {
			defer forwarders.Done()
			defer func() { _ = pc.Close() }()
			for {
				select {
				case message, ok := <-pc.Messages():
					if !ok {
						return
					}
					select {
					case merged <- message:
					case <-stop:
						return
					}
				case <-stop:
					return
				}
			}
		}()
	}
	records := []lineproto.Record{}
	for len(records) < cmd.ExpectedCount {
		select {
		case message := <-merged:
			records = append(records, fromMessage(message, false))
		case <-deadline:
			return records, nil
		}
	}
	return records, nil
}

// transactionalProduce runs one transactional producer: each element is one transaction, its
// records sent synchronously and then committed or aborted.
func transactionalProduce(cmd *lineproto.Command) error {
	cfg := producerConfig(cmd, true)
	cfg.Producer.Transaction.ID = cmd.TransactionalID
	producer, err := sarama.NewSyncProducer([]string{cmd.Bootstrap}, cfg)
	if err != nil {
		return err
	}
	defer func() { _ = producer.Close() }()
	for i, transaction := range cmd.Transactions {
		messages, err := toMessages(cmd.Topic, transaction.Records)
		if err != nil {
			return err
		}
		if err := producer.BeginTxn(); err != nil {
			return fmt.Errorf("transaction %d: begin: %w", i, err)
		}
		if err := producer.SendMessages(messages); err != nil {
			abortErr := producer.AbortTxn()
			return fmt.Errorf("transaction %d: send: %w (abort: %v)", i, err, abortErr)
		}
		end := producer.AbortTxn
		if transaction.Commit {
			end = producer.CommitTxn
		}
		if err := end(); err != nil {
			return fmt.Errorf("transaction %d: end (commit=%t): %w", i, transaction.Commit, err)
		}
	}
	return nil
}
