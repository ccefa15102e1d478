package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/topics"
)

// groupPoll is the pause between two reads of a consumer group's offsets.
const groupPoll = 20 * time.Millisecond

// kafkaTools is the harness's own Kafka client: it watches checkpoints and
// consumer groups to see when a measured run is done, and deletes topics.
type kafkaTools struct {
	brokers []string
	cl      *kgo.Client
	adm     *kadm.Client
}

func newKafkaTools(brokers []string) (*kafkaTools, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	return &kafkaTools{brokers: brokers, cl: cl, adm: kadm.NewClient(cl)}, nil
}

func (k *kafkaTools) close() { k.cl.Close() }

// waitCheckpoint returns once a committed checkpoint of the capture named
// prefix satisfies done. It reads the checkpoint topic from its start, so
// it also sees checkpoints written before it was called.
func (k *kafkaTools) waitCheckpoint(ctx context.Context, prefix string, done func(*topics.Checkpoint) bool) error {
	topic := event.Names{Prefix: prefix}.Checkpoints()
	if err := topics.Ensure(ctx, k.adm, topics.CheckpointsSpec(topic)); err != nil {
		return err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		found := false
		fs.EachRecord(func(r *kgo.Record) {
			if found || string(r.Key) != prefix || r.Value == nil {
				return
			}
			var cp topics.Checkpoint
			if json.Unmarshal(r.Value, &cp) == nil && done(&cp) {
				found = true
			}
		})
		if found {
			return nil
		}
	}
}

// endOffset returns the end offset of partition 0 of topic.
func (k *kafkaTools) endOffset(ctx context.Context, topic string) (int64, error) {
	ends, err := k.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("end offset of %s: %w", topic, err)
	}
	o, ok := ends.Lookup(topic, 0)
	if !ok || o.Err != nil {
		return 0, fmt.Errorf("end offset of %s: %v", topic, o.Err)
	}
	return o.Offset, nil
}

// waitGroup returns once the consumer group has committed at least offset
// want on partition 0 of topic.
func (k *kafkaTools) waitGroup(ctx context.Context, group, topic string, want int64) error {
	t := time.NewTicker(groupPoll)
	defer t.Stop()
	for {
		offs, err := k.adm.FetchOffsets(ctx, group)
		if err == nil {
			if o, ok := offs.Lookup(topic, 0); ok && o.Err == nil && o.At >= want {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-t.C:
		}
	}
}

// appliedOffset is the committed offset that shows a consumer has read a
// capture topic to its end: the topic ends with the commit marker of the
// last Kafka transaction, after the last record.
func (k *kafkaTools) appliedOffset(ctx context.Context, topic string) (int64, error) {
	end, err := k.endOffset(ctx, topic)
	if err != nil {
		return 0, err
	}
	return end - 1, nil
}

// deletePrefix deletes every topic of a capture prefix, freeing the
// in-process broker's memory.
func (k *kafkaTools) deletePrefix(ctx context.Context, prefix string) error {
	all, err := k.adm.ListTopics(ctx)
	if err != nil {
		return err
	}
	var names []string
	for _, n := range all.Names() {
		if n == prefix || strings.HasPrefix(n, prefix+".") {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil
	}
	_, err = k.adm.DeleteTopics(ctx, names...)
	return err
}

// background runs f until the returned stop is called, which returns f's
// error (none when f ended because of stop). The returned context ends, with
// f's error as its cause, if f returns before stop.
func background(ctx context.Context, name string, f func(context.Context) error) (watch context.Context, stop func() error) {
	runCtx, cancelRun := context.WithCancel(ctx)
	watch, cancelWatch := context.WithCancelCause(ctx)
	done := make(chan error, 1)
	go func() {
		err := f(runCtx)
		switch {
		case runCtx.Err() == nil: // ended by itself
			if err == nil {
				err = errors.New("stopped early")
			}
			err = fmt.Errorf("%s: %w", name, err)
			cancelWatch(err)
		case errors.Is(err, context.Canceled):
			err = nil
		case err != nil:
			err = fmt.Errorf("%s: %w", name, err)
		}
		done <- err
	}()
	stop = sync.OnceValue(func() error {
		cancelRun()
		err := <-done
		cancelWatch(nil)
		return err
	})
	return watch, stop
}
