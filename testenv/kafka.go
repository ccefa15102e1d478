package testenv

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// KafkaCluster is an in-process Kafka cluster (kfake, one broker on 127.0.0.1,
// memory only, no automatic topic creation) plus a Confluent-compatible
// schema registry (srfake, memory only, never rejects a schema as
// incompatible). Kafka, NewKafka and LaunchKafka return one.
type KafkaCluster struct {
	// Brokers are the seed broker addresses ("127.0.0.1:port").
	Brokers []string
	// RegistryURL is the schema registry's base URL ("http://127.0.0.1:port").
	RegistryURL string
	// Cluster is the fake cluster, for fault injection (Control) and
	// inspection.
	Cluster *kfake.Cluster
	// Registry is the fake schema registry, for seeding and inspection.
	Registry *srfake.Registry
}

// Kafka returns the shared Kafka cluster and schema registry of the test
// binary, started on first use. Tests share it: use topic, group and
// subject names of their own.
func Kafka(t testing.TB) *KafkaCluster {
	t.Helper()
	return shared(t, "kafka", func(context.Context) (*KafkaCluster, func() error, error) {
		k, err := LaunchKafka()
		if err != nil {
			return nil, nil, err
		}
		return k, k.Close, nil
	})
}

// NewKafka starts a private Kafka cluster and schema registry, closed when
// the test ends, for tests that need isolation (fault injection, counting
// topics or registry subjects).
func NewKafka(t testing.TB) *KafkaCluster {
	t.Helper()
	k, err := LaunchKafka()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { _ = k.Close() })
	return k
}

// LaunchKafka starts an in-process Kafka cluster with one broker and a schema
// registry, each on a random 127.0.0.1 port. Extra kfake options (for example
// kfake.DataDir to persist) are applied after the defaults.
func LaunchKafka(opts ...kfake.Opt) (*KafkaCluster, error) {
	all := append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)
	cluster, err := kfake.NewCluster(all...)
	if err != nil {
		return nil, fmt.Errorf("start kfake: %w", err)
	}
	reg := srfake.New()
	return &KafkaCluster{
		Brokers:     cluster.ListenAddrs(),
		RegistryURL: reg.URL(),
		Cluster:     cluster,
		Registry:    reg,
	}, nil
}

// BrokersString returns the broker addresses joined by commas.
func (k *KafkaCluster) BrokersString() string { return strings.Join(k.Brokers, ",") }

// Close stops the registry and the cluster.
func (k *KafkaCluster) Close() error {
	k.Registry.Close()
	k.Cluster.Close()
	return nil
}

// NewRestartableKafka starts a private broker that persists to a directory
// of the test and can be stopped and started on the same port, plus a schema
// registry; both are closed when the test ends.
func NewRestartableKafka(t testing.TB) *RestartableKafka {
	t.Helper()
	k, err := LaunchRestartableKafka(t.TempDir())
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { _ = k.Close() })
	return k
}
