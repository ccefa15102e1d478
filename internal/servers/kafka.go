package servers

import (
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// KafkaCluster is an in-process Kafka cluster (kfake, one broker on 127.0.0.1,
// memory only, no automatic topic creation) plus a Confluent-compatible
// schema registry (srfake, memory only, never rejects a schema as
// incompatible). LaunchKafka returns one.
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
