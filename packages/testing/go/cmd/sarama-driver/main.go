// Command sarama-driver drives IBM/sarama through the line protocol in
// packages/testing/DRIVER-PROTOCOL.md, so the shared client scenarios run against it.
package main

import (
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/IBM/sarama"
	"github.com/tributary/testing-go/internal/lineproto"
	"github.com/twmb/franz-go/pkg/kerr"
)

const clientID = "sarama-driver"

// kafkaVersion is the newest Kafka version this sarama knows; it picks request versions from it
// rather than negotiating through ApiVersions.
var kafkaVersion = sarama.MaxVersion

type driver struct {
	admins    map[string]adminPair
	producers map[lineproto.ProducerKey]sarama.SyncProducer
	member    *groupMember
}

func main() {
	sarama.Logger = log.New(os.Stderr, "[sarama] ", log.LstdFlags|log.Lmicroseconds)
	d := &driver{
		admins:    map[string]adminPair{},
		producers: map[lineproto.ProducerKey]sarama.SyncProducer{},
	}
	version := lineproto.ModuleVersion("github.com/IBM/sarama")
	lineproto.Serve("sarama", version, d.handleBounded, describe, d.closeAll)
}

type outcome struct {
	result any
	err    error
}

// handleBounded enforces timeoutMs: sarama's calls take no context, so a command that overruns
// is answered with a timeout while its goroutine finishes in the background.
func (d *driver) handleBounded(cmd *lineproto.Command) (any, error) {
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- outcome{err: fmt.Errorf("panic: %v", p)}
			}
		}()
		result, err := d.handle(cmd)
		done <- outcome{result, err}
	}()
	select {
	case out := <-done:
		return out.result, out.err
	case <-time.After(cmd.Timeout()):
		return nil, fmt.Errorf("TimeoutException: %s did not finish in %d ms", cmd.Op, cmd.TimeoutMs)
	}
}

func (d *driver) handle(cmd *lineproto.Command) (any, error) {
	switch cmd.Op {
	case "createTopic", "deleteTopic", "listTopics", "describeConfigs", "alterConfigs",
		"listOffsets", "deleteRecords", "listGroups", "describeGroup", "groupOffsets", "deleteGroup":
		return d.admin(cmd)
	case "produce":
		return d.produce(cmd)
	case "consumeAll":
		return consumeAll(cmd)
	case "transactionalProduce":
		return nil, transactionalProduce(cmd)
	case "subscribe":
		return nil, d.subscribe(cmd)
	case "poll":
		return d.poll(cmd)
	case "commit":
		return nil, d.commit(cmd)
	case "closeConsumer":
		return nil, d.closeConsumer()
	}
	return nil, lineproto.ErrUnknownOp(cmd.Op)
}

// newConfig is the configuration every client starts from; timeouts follow the command's bound.
func newConfig(cmd *lineproto.Command) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = kafkaVersion
	cfg.ClientID = clientID
	cfg.Metadata.AllowAutoTopicCreation = false
	cfg.Admin.Timeout = cmd.Timeout()
	cfg.Producer.Timeout = cmd.Timeout()
	return cfg
}

// adminPair is one long-lived admin per bootstrap and the client it runs on (sarama's
// ClusterAdmin does not hand its client out; closing the admin closes the client).
type adminPair struct {
	client sarama.Client
	admin  sarama.ClusterAdmin
}

func (d *driver) adminClient(cmd *lineproto.Command) (sarama.Client, sarama.ClusterAdmin, error) {
	if pair, ok := d.admins[cmd.Bootstrap]; ok {
		return pair.client, pair.admin, nil
	}
	client, err := sarama.NewClient([]string{cmd.Bootstrap}, newConfig(cmd))
	if err != nil {
		return nil, nil, err
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		_ = client.Close()
		return nil, nil, err
	}
	d.admins[cmd.Bootstrap] = adminPair{client, admin}
	return client, admin, nil
}

func (d *driver) closeAll() {
	if d.member != nil {
		_ = d.closeConsumer()
	}
	for _, producer := range d.producers {
		_ = producer.Close()
	}
	for _, pair := range d.admins {
		_ = pair.admin.Close()
	}
}

// describe names the Kafka error inside err: sarama's KError carries the code, and franz-go's
// kerr table (same module) turns the code into Kafka's name.
func describe(err error) lineproto.Failure {
	failure := lineproto.Failure{Message: fmt.Sprintf("%T: %v", err, err)}
	if code, ok := kafkaCode(err); ok {
		var named *kerr.Error
		if errors.As(kerr.ErrorForCode(code), &named) {
			failure.Code = named.Message
		}
	}
	return failure
}

func kafkaCode(err error) (int16, bool) {
	var producerErrors sarama.ProducerErrors
	if errors.As(err, &producerErrors) && len(producerErrors) > 0 {
		return kafkaCode(producerErrors[0].Err)
	}
	var kafkaErr sarama.KError
	if errors.As(err, &kafkaErr) && kafkaErr != sarama.ErrNoError {
		return int16(kafkaErr), true
	}
	return 0, false
}

func errorOf(code sarama.KError) error {
	if code == sarama.ErrNoError {
		return nil
	}
	return code
}
