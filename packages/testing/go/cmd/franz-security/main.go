// Command franz-security checks franz-go's SASL and TLS against a broker listener: it connects
// with the security the flags name, produces three records to a topic and reads them back, and
// prints one JSON line: {"ok":true,"values":[...]} or {"ok":false,"error":"..."}. The security
// tests (packages/testing/test/security) run it once per listener kind and mechanism.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

type options struct {
	bootstrap, topic, mechanism, user, password, token, ca, cert, key string
	timeout                                                           time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.bootstrap, "bootstrap", "", "host:port")
	flag.StringVar(&o.topic, "topic", "", "topic to produce to and read back")
	flag.StringVar(&o.mechanism, "mechanism", "", "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or empty")
	flag.StringVar(&o.user, "user", "", "SASL user")
	flag.StringVar(&o.password, "password", "", "SASL password")
	flag.StringVar(&o.token, "token", "", "OAUTHBEARER token")
	flag.StringVar(&o.ca, "ca", "", "PEM CA file: connect with TLS")
	flag.StringVar(&o.cert, "cert", "", "PEM client certificate (mTLS)")
	flag.StringVar(&o.key, "key", "", "PEM client key (mTLS)")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Second, "bound on the whole run")
	flag.Parse()
	values, err := run(o)
	out := map[string]any{"ok": err == nil, "values": values}
	if err != nil {
		out["error"] = err.Error()
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}

func run(o options) ([]string, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(o.bootstrap),
		kgo.ClientID("franz-security"),
		kgo.AllowAutoTopicCreation(),
		kgo.ConsumeTopics(o.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.RequestRetries(0),
		kgo.RetryTimeout(5 * time.Second),
	}
	mechanism, err := mechanismOf(o)
	if err != nil {
		return nil, err
	}
	if mechanism != nil {
		opts = append(opts, kgo.SASL(mechanism))
	}
	if o.ca != "" {
		config, err := tlsConfig(o)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(config))
	}
	client, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	// Ping first: it reports a refused connection or authentication as it is, where produce
	// would retry until its context ends.
	if err := client.Ping(ctx); err != nil {
		return nil, fmt.Errorf("ping: %w", err)
	}
	sent := []string{o.topic + "-one", o.topic + "-two", o.topic + "-three"}
	for _, value := range sent {
		record := &kgo.Record{Topic: o.topic, Value: []byte(value)}
		if err := client.ProduceSync(ctx, record).FirstErr(); err != nil {
			return nil, fmt.Errorf("produce: %w", err)
		}
	}
	var got []string
	for len(got) < len(sent) {
		fetches := client.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return got, fmt.Errorf("consume: %w", err)
		}
		var fetchErr error
		fetches.EachError(func(_ string, _ int32, err error) { fetchErr = errors.Join(fetchErr, err) })
		if fetchErr != nil {
			return got, fmt.Errorf("consume: %w", fetchErr)
		}
		fetches.EachRecord(func(record *kgo.Record) { got = append(got, string(record.Value)) })
	}
	return got, nil
}

func mechanismOf(o options) (sasl.Mechanism, error) {
	switch o.mechanism {
	case "":
		return nil, nil
	case "PLAIN":
		return plain.Auth{User: o.user, Pass: o.password}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: o.user, Pass: o.password}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: o.user, Pass: o.password}.AsSha512Mechanism(), nil
	case "OAUTHBEARER":
		return oauth.Auth{Token: o.token}.AsMechanism(), nil
	}
	return nil, fmt.Errorf("unknown mechanism %q", o.mechanism)
}

func tlsConfig(o options) (*tls.Config, error) {
	pem, err := os.ReadFile(o.ca)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", o.ca)
	}
	config := &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
	if o.cert != "" {
		pair, err := tls.LoadX509KeyPair(o.cert, o.key)
		if err != nil {
			return nil, err
		}
		config.Certificates = []tls.Certificate{pair}
	}
	return config, nil
}
