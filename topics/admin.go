package topics

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Spec describes a topic to create.
type Spec struct {
	Name       string
	Partitions int32
	// Configs are topic configs such as cleanup.policy.
	Configs map[string]string
}

// MaxBatchBytes is the largest record batch capture produces and the
// topics it creates accept (their max.message.bytes), so that a row of up to
// about this size can be published. Kafka's default is 1 MB; the topic
// setting overrides the broker's for these topics.
const MaxBatchBytes = 4 << 20

// TableSpec is the spec of a table topic.
func TableSpec(name string, partitions int32) Spec {
	return Spec{Name: name, Partitions: partitions, Configs: map[string]string{"cleanup.policy": "delete", "max.message.bytes": strconv.Itoa(MaxBatchBytes)}}
}

// SchemaChangesSpec is the spec of the schema-change topic: one partition so
// DDL stays in order, never expiring.
func SchemaChangesSpec(name string) Spec {
	return Spec{Name: name, Partitions: 1, Configs: map[string]string{"cleanup.policy": "delete", "retention.ms": "-1", "max.message.bytes": strconv.Itoa(MaxBatchBytes)}}
}

// DeadLetterSpec is the spec of an apply group's dead-letter topic: one
// partition, never expiring, and records as large as a table topic's,
// since a dead letter is a table topic's record plus headers.
func DeadLetterSpec(name string) Spec {
	return Spec{Name: name, Partitions: 1, Configs: map[string]string{"cleanup.policy": "delete", "retention.ms": "-1", "max.message.bytes": strconv.Itoa(MaxBatchBytes)}}
}

// CheckpointsSpec is the spec of the checkpoint topic: compacted and never
// expiring.
func CheckpointsSpec(name string) Spec {
	return Spec{Name: name, Partitions: 1, Configs: map[string]string{"cleanup.policy": "compact", "retention.ms": "-1", "max.message.bytes": strconv.Itoa(MaxBatchBytes)}}
}

// Ensure creates the topics that do not exist yet (with the broker's default
// replication factor) and leaves existing ones as they are.
func Ensure(ctx context.Context, adm *kadm.Client, specs ...Spec) error {
	for _, s := range specs {
		cfg := make(map[string]*string, len(s.Configs))
		for k, v := range s.Configs {
			cfg[k] = kadm.StringPtr(v)
		}
		_, err := adm.CreateTopic(ctx, s.Partitions, -1, cfg, s.Name)
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s (%s partitions): %w", s.Name, strconv.Itoa(int(s.Partitions)), err)
		}
	}
	return nil
}
