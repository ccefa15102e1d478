// Package topics is Syncline's Kafka plumbing: topic creation and limits,
// Kafka client options and the checkpoints that capture stores beside its
// events. The event format itself (topic names, the Confluent frame, the
// Avro schemas, encoder and decoder) is package internal/event.
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
// replication factor). Of a topic that exists (created by an earlier
// version, or by whoever provisions the cluster's topics) it checks the one
// setting producing depends on: a spec's max.message.bytes is a floor, and a
// topic that accepts smaller records is raised to it, or, when the cluster
// refuses that, is an error naming the topic and the fix.
func Ensure(ctx context.Context, adm *kadm.Client, specs ...Spec) error {
	for _, s := range specs {
		cfg := make(map[string]*string, len(s.Configs))
		for k, v := range s.Configs {
			cfg[k] = kadm.StringPtr(v)
		}
		_, err := adm.CreateTopic(ctx, s.Partitions, -1, cfg, s.Name)
		switch {
		case err == nil:
		case errors.Is(err, kerr.TopicAlreadyExists):
			if err := ensureRecordLimit(ctx, adm, s); err != nil {
				return err
			}
		default:
			return fmt.Errorf("create topic %s (%s partitions): %w", s.Name, strconv.Itoa(int(s.Partitions)), err)
		}
	}
	return nil
}

// maxMessageBytes is the topic config that bounds a record batch.
const maxMessageBytes = "max.message.bytes"

// ensureRecordLimit raises the max.message.bytes of the existing topic of s
// to the spec's when it is lower.
func ensureRecordLimit(ctx context.Context, adm *kadm.Client, s Spec) error {
	want, ok := s.Configs[maxMessageBytes]
	if !ok {
		return nil
	}
	wantN, err := strconv.Atoi(want)
	if err != nil {
		return fmt.Errorf("topic %s: %s %q is not a number", s.Name, maxMessageBytes, want)
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, s.Name)
	if err != nil {
		return fmt.Errorf("read the configs of topic %s: %w", s.Name, err)
	}
	rc, err := rcs.On(s.Name, nil)
	if err == nil {
		err = rc.Err
	}
	if errors.Is(err, kerr.TopicAuthorizationFailed) || errors.Is(err, kerr.ClusterAuthorizationFailed) {
		// Not allowed to look: the topic may well be right, and a
		// batch it refuses is reported when produced.
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the configs of topic %s: %w", s.Name, err)
	}
	for _, c := range rc.Configs {
		if c.Key != maxMessageBytes || c.Value == nil {
			continue
		}
		if have, err := strconv.Atoi(*c.Value); err == nil && have >= wantN {
			return nil
		}
	}
	resp, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: maxMessageBytes, Value: kadm.StringPtr(want)}}, s.Name)
	if err == nil {
		var r kadm.AlterConfigsResponse
		if r, err = resp.On(s.Name, nil); err == nil {
			err = r.Err
		}
	}
	if err != nil {
		return fmt.Errorf("topic %s accepts smaller records than syncline produces, and raising its %s to %s failed (%w): raise it with kafka-configs.sh --alter --entity-type topics --entity-name %s --add-config %s=%s, or grant syncline's user AlterConfigs on the topic",
			s.Name, maxMessageBytes, want, err, s.Name, maxMessageBytes, want)
	}
	return nil
}
