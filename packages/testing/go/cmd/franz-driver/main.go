// Command franz-driver drives franz-go (kgo + kadm) through the line protocol in
// packages/testing/DRIVER-PROTOCOL.md, so the shared client scenarios run against it.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/tributary/testing-go/internal/lineproto"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

const clientID = "franz-driver"

type driver struct {
	admins    map[string]*kgo.Client
	producers map[lineproto.ProducerKey]*kgo.Client
	member    *groupMember
}

func main() {
	d := &driver{admins: map[string]*kgo.Client{}, producers: map[lineproto.ProducerKey]*kgo.Client{}}
	version := lineproto.ModuleVersion("github.com/twmb/franz-go")
	lineproto.Serve("franz-go", version, d.handle, describe, d.closeAll)
}

func (d *driver) handle(cmd *lineproto.Command) (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmd.Timeout())
	defer cancel()
	switch cmd.Op {
	case "createTopic", "deleteTopic", "listTopics", "describeConfigs", "alterConfigs",
		"listOffsets", "deleteRecords", "listGroups", "describeGroup", "groupOffsets", "deleteGroup":
		return d.admin(ctx, cmd)
	case "produce":
		return d.produce(ctx, cmd)
	case "consumeAll":
		return consumeAll(ctx, cmd)
	case "transactionalProduce":
		return nil, transactionalProduce(ctx, cmd)
	case "subscribe":
		return nil, d.subscribe(ctx, cmd)
	case "poll":
		return d.poll(ctx, cmd)
	case "commit":
		return nil, d.commit(ctx)
	case "closeConsumer":
		return nil, d.closeConsumer(ctx)
	}
	return nil, lineproto.ErrUnknownOp(cmd.Op)
}

// baseOpts are the options every client shares; client logs go to stderr.
func baseOpts(bootstrap string) []kgo.Opt {
	return []kgo.Opt{
		kgo.SeedBrokers(bootstrap),
		kgo.ClientID(clientID),
		kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelWarn, nil)),
	}
}

// adminClient is one long-lived client per bootstrap for the admin ops.
func (d *driver) adminClient(bootstrap string) (*kgo.Client, error) {
	if cl, ok := d.admins[bootstrap]; ok {
		return cl, nil
	}
	cl, err := kgo.NewClient(baseOpts(bootstrap)...)
	if err != nil {
		return nil, err
	}
	d.admins[bootstrap] = cl
	return cl, nil
}

func (d *driver) closeAll() {
	if d.member != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = d.closeConsumer(ctx)
	}
	for _, cl := range d.producers {
		cl.Close()
	}
	for _, cl := range d.admins {
		cl.Close()
	}
}

// describe names the Kafka error inside err, if franz-go exposes one (a *kerr.Error).
func describe(err error) lineproto.Failure {
	failure := lineproto.Failure{Message: fmt.Sprintf("%T: %v", err, err)}
	var kafkaErr *kerr.Error
	if errors.As(err, &kafkaErr) {
		failure.Code = kafkaErr.Message
	}
	return failure
}

// logFetchErrors reports fetch errors on stderr; the protocol's reads never fail for them.
func logFetchErrors(fetches kgo.Fetches) {
	fetches.EachError(func(topic string, partition int32, err error) {
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			log.Printf("fetch %s[%d]: %v", topic, partition, err)
		}
	})
}
