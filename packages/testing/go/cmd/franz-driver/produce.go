package main

import (
	"context"
	"fmt"

	"github.com/tributary/testing-go/internal/lineproto"
	"github.com/twmb/franz-go/pkg/kgo"
)

func codec(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "", "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("unknown compression %q", name)
}

// producerOpts: acks=all (franz-go's default, stated here), each record to its own partition.
func producerOpts(bootstrap string, compression kgo.CompressionCodec) []kgo.Opt {
	return append(baseOpts(bootstrap),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(compression),
	)
}

func toRecords(topic string, wire []lineproto.Record) ([]*kgo.Record, error) {
	records := make([]*kgo.Record, 0, len(wire))
	for _, w := range wire {
		decoded, err := w.Decode()
		if err != nil {
			return nil, err
		}
		record := &kgo.Record{
			Topic: topic, Partition: decoded.Partition, Key: decoded.Key, Value: decoded.Value,
		}
		for _, h := range decoded.Headers {
			record.Headers = append(record.Headers, kgo.RecordHeader{Key: h.Name, Value: h.Value})
		}
		if decoded.Timestamp != nil {
			record.Timestamp = *decoded.Timestamp
		}
		records = append(records, record)
	}
	return records, nil
}

func fromRecord(r *kgo.Record, withTopic bool) lineproto.Record {
	wire := lineproto.Consumed(r.Partition, r.Offset, r.Key, r.Value, r.Timestamp)
	if withTopic {
		wire.Topic = r.Topic
	}
	for _, h := range r.Headers {
		wire.AddHeader(h.Key, h.Value)
	}
	return wire
}

// produce keeps one producer per settings, so an idempotent producer keeps its id and sequence
// numbers across commands; a failed producer is dropped and rebuilt on the next command.
func (d *driver) produce(ctx context.Context, cmd *lineproto.Command) (any, error) {
	compression, err := codec(cmd.Compression)
	if err != nil {
		return nil, err
	}
	records, err := toRecords(cmd.Topic, cmd.Records)
	if err != nil {
		return nil, err
	}
	key := cmd.ProducerKey()
	cl, ok := d.producers[key]
	if !ok {
		opts := producerOpts(cmd.Bootstrap, compression)
		if !key.Idempotent {
			opts = append(opts, kgo.DisableIdempotentWrite())
		}
		if cl, err = kgo.NewClient(opts...); err != nil {
			return nil, err
		}
		d.producers[key] = cl
	}
	results := cl.ProduceSync(ctx, records...)
	answer := make([]lineproto.Produced, 0, len(results))
	for _, result := range results {
		if result.Err != nil {
			delete(d.producers, key)
			cl.Close()
			return nil, result.Err
		}
		answer = append(answer,
			lineproto.Produced{Partition: result.Record.Partition, Offset: result.Record.Offset})
	}
	return answer, nil
}

func isolation(cmd *lineproto.Command) kgo.IsolationLevel {
	if cmd.ReadCommitted() {
		return kgo.ReadCommitted()
	}
	return kgo.ReadUncommitted()
}

func consumeAll(ctx context.Context, cmd *lineproto.Command) (any, error) {
	partitions := map[int32]kgo.Offset{}
	for p := range cmd.Partitions {
		partitions[p] = kgo.NewOffset().AtStart()
	}
	opts := append(baseOpts(cmd.Bootstrap),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{cmd.Topic: partitions}),
		kgo.FetchIsolationLevel(isolation(cmd)),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, cmd.CollectWindow())
	defer cancel()
	records := []lineproto.Record{}
	for len(records) < cmd.ExpectedCount && ctx.Err() == nil {
		fetches := cl.PollRecords(ctx, cmd.ExpectedCount-len(records))
		logFetchErrors(fetches)
		fetches.EachRecord(func(r *kgo.Record) { records = append(records, fromRecord(r, false)) })
	}
	return records, nil
}

// transactionalProduce runs one transactional producer: each element is one transaction, its
// records produced synchronously and then committed or aborted.
func transactionalProduce(ctx context.Context, cmd *lineproto.Command) error {
	opts := append(producerOpts(cmd.Bootstrap, kgo.NoCompression()),
		kgo.TransactionalID(cmd.TransactionalID))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	for i, transaction := range cmd.Transactions {
		records, err := toRecords(cmd.Topic, transaction.Records)
		if err != nil {
			return err
		}
		if err := cl.BeginTransaction(); err != nil {
			return fmt.Errorf("transaction %d: begin: %w", i, err)
		}
		if err := cl.ProduceSync(ctx, records...).FirstErr(); err != nil {
			abortErr := cl.EndTransaction(ctx, kgo.TryAbort)
			return fmt.Errorf("transaction %d: produce: %w (abort: %v)", i, err, abortErr)
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(transaction.Commit)); err != nil {
			return fmt.Errorf("transaction %d: end (commit=%t): %w", i, transaction.Commit, err)
		}
	}
	return nil
}
