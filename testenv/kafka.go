package testenv

import (
	"context"
	"testing"

	"github.com/syncline/syncline/internal/servers"
)

// KafkaCluster is an in-process Kafka cluster (kfake) plus a
// Confluent-compatible schema registry (srfake); see servers.KafkaCluster.
// Kafka and NewKafka return one.
type KafkaCluster = servers.KafkaCluster

// RestartableKafka is a Kafka broker that persists to disk and can be
// stopped and started on the same port; see servers.RestartableKafka.
// NewRestartableKafka returns one.
type RestartableKafka = servers.RestartableKafka

// Kafka returns the shared Kafka cluster and schema registry of the test
// binary, started on first use. Tests share it: use topic, group and
// subject names of their own.
func Kafka(t testing.TB) *KafkaCluster {
	t.Helper()
	return shared(t, "kafka", func(context.Context) (*KafkaCluster, func() error, error) {
		k, err := servers.LaunchKafka()
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
	k, err := servers.LaunchKafka()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { _ = k.Close() })
	return k
}

// NewRestartableKafka starts a private broker that persists to a directory
// of the test and can be stopped and started on the same port, plus a schema
// registry; both are closed when the test ends.
func NewRestartableKafka(t testing.TB) *RestartableKafka {
	t.Helper()
	k, err := servers.LaunchRestartableKafka(t.TempDir())
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { _ = k.Close() })
	return k
}
