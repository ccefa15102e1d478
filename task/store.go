package task

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/topics"
)

// StoreFormat is the version of the task records this code writes.
const StoreFormat = 1

// Revision is one version of a running task's object list, as kept in the
// task topic.
type Revision struct {
	Format int `json:"format"`
	// Revision counts the task's object lists from 1.
	Revision int `json:"revision"`
	// Objects is the object list.
	Objects []Object `json:"objects"`
	// Change says what made this revision, e.g. "add-tables shop.refunds".
	Change string `json:"change,omitempty"`
	// TSMillis is when it was written.
	TSMillis int64 `json:"ts_ms"`
	// Next is the offset after the record read or written, where a Watch
	// continues.
	Next int64 `json:"-"`
}

// Control is a request to the running components of a task.
type Control struct {
	Format int `json:"format"`
	// Stop asks every component to stop cleanly: capture commits, apply
	// drains what capture published and commits.
	Stop bool `json:"stop,omitempty"`
	// CaptureStopped says capture stopped after a Stop, with everything
	// it read committed: apply drains the topics and stops.
	CaptureStopped bool `json:"capture_stopped,omitempty"`
	// Resync asks capture to re-include these parked tables ("db.table"),
	// once fixed: their targets are emptied and they are snapshotted
	// online again.
	Resync []string `json:"resync,omitempty"`
	// TSMillis is when it was written.
	TSMillis int64 `json:"ts_ms"`
}

// Event is what a Watch delivers: a new revision or a control request.
type Event struct {
	Revision *Revision
	Control  *Control
}

// ErrNoRevision is returned when the task has no object list in Kafka yet.
var ErrNoRevision = errors.New("the task has no object list in Kafka")

// Store keeps a task's object list and control requests in the compacted,
// one-partition topic <prefix>.__task, keyed by the task's name. Every
// component reads the object list from it, so that all of them, and every
// restart, see the same tables.
type Store struct {
	opts  []kgo.Opt
	topic string
	name  string
}

// NewStore returns the store of task name under the topic prefix.
func NewStore(opts []kgo.Opt, prefix, name string) *Store {
	return &Store{opts: opts, topic: TopicName(prefix), name: name}
}

// TopicName is the task topic of a prefix.
func TopicName(prefix string) string { return prefix + ".__task" }

func (s *Store) objectsKey() string { return "objects/" + s.name }
func (s *Store) controlKey() string { return "control/" + s.name }

// ensure creates the task topic when it is missing.
func (s *Store) ensure(ctx context.Context) error {
	cl, err := kgo.NewClient(s.opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	spec := topics.Spec{Name: s.topic, Partitions: 1, Configs: map[string]string{"cleanup.policy": "compact", "retention.ms": "-1"}}
	return topics.Ensure(ctx, kadm.NewClient(cl), spec)
}

// end returns the offset after the last record of the task topic.
func (s *Store) end(ctx context.Context) (int64, error) {
	cl, err := kgo.NewClient(s.opts...)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, s.topic)
	if err != nil {
		return 0, fmt.Errorf("list offsets of %s: %w", s.topic, err)
	}
	o, ok := ends.Lookup(s.topic, 0)
	if !ok {
		return 0, fmt.Errorf("list offsets of %s: no partition 0", s.topic)
	}
	if o.Err != nil {
		return 0, fmt.Errorf("list offsets of %s: %w", s.topic, o.Err)
	}
	return o.Offset, nil
}

// Latest returns the newest revision of the object list, and the offset
// after the last record read (where a Watch continues).
func (s *Store) Latest(ctx context.Context) (*Revision, int64, error) {
	if err := s.ensure(ctx); err != nil {
		return nil, 0, err
	}
	end, err := s.end(ctx)
	if err != nil {
		return nil, 0, err
	}
	var last *Revision
	if end > 0 {
		cl, err := kgo.NewClient(append(s.opts[:len(s.opts):len(s.opts)],
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{s.topic: {0: kgo.NewOffset().AtStart()}}))...)
		if err != nil {
			return nil, 0, err
		}
		defer cl.Close()
	read:
		for {
			fetches := cl.PollFetches(ctx)
			if err := ctx.Err(); err != nil {
				return nil, 0, err
			}
			if err := fetches.Err0(); err != nil {
				return nil, 0, fmt.Errorf("read %s: %w", s.topic, err)
			}
			for it := fetches.RecordIter(); !it.Done(); {
				r := it.Next()
				if string(r.Key) == s.objectsKey() && r.Value != nil {
					rev, err := decodeRevision(r.Value)
					if err != nil {
						return nil, 0, fmt.Errorf("%s at offset %d: %w", s.topic, r.Offset, err)
					}
					last = rev
				}
				if r.Offset >= end-1 {
					break read
				}
			}
		}
	}
	if last == nil {
		return nil, end, ErrNoRevision
	}
	last.Next = end
	return last, end, nil
}

func decodeRevision(b []byte) (*Revision, error) {
	var rev Revision
	if err := json.Unmarshal(b, &rev); err != nil {
		return nil, fmt.Errorf("decode task object list: %w", err)
	}
	if rev.Format > StoreFormat {
		return nil, fmt.Errorf("task object list has format %d; this syncline reads up to %d: upgrade syncline", rev.Format, StoreFormat)
	}
	if _, err := CompileObjects(rev.Objects); err != nil {
		return nil, fmt.Errorf("stored object list (revision %d): %w", rev.Revision, err)
	}
	return &rev, nil
}

// Init returns the task's object list in Kafka, writing objects as its
// first revision when there is none. The second result reports whether the
// stored list differs from objects (it was changed while the task ran).
func (s *Store) Init(ctx context.Context, objects []Object) (*Revision, bool, error) {
	rev, _, err := s.Latest(ctx)
	if errors.Is(err, ErrNoRevision) {
		rev, err = s.put(ctx, &Revision{Revision: 1, Objects: objects, Change: "created from the spec"})
		return rev, false, err
	}
	if err != nil {
		return nil, false, err
	}
	return rev, !Equal(rev.Objects, objects), nil
}

// Update writes a new revision with objects, change describing why, after
// checking it compiles. It returns the revision written.
func (s *Store) Update(ctx context.Context, objects []Object, change string) (*Revision, error) {
	if _, err := CompileObjects(objects); err != nil {
		return nil, err
	}
	prev, _, err := s.Latest(ctx)
	n := 1
	switch {
	case err == nil:
		n = prev.Revision + 1
	case !errors.Is(err, ErrNoRevision):
		return nil, err
	}
	return s.put(ctx, &Revision{Revision: n, Objects: objects, Change: change})
}

func (s *Store) put(ctx context.Context, rev *Revision) (*Revision, error) {
	rev.Format, rev.TSMillis = StoreFormat, time.Now().UnixMilli()
	b, err := json.Marshal(rev)
	if err != nil {
		return nil, err
	}
	off, err := s.produce(ctx, s.objectsKey(), b)
	rev.Next = off + 1
	return rev, err
}

// RequestStop asks the task's running components to stop cleanly.
func (s *Store) RequestStop(ctx context.Context) error {
	if err := s.ensure(ctx); err != nil {
		return err
	}
	return s.control(ctx, Control{Stop: true})
}

// RequestResync asks the task's capture to re-include parked tables
// ("db.table") that were fixed.
func (s *Store) RequestResync(ctx context.Context, tables []string) error {
	if err := s.ensure(ctx); err != nil {
		return err
	}
	return s.control(ctx, Control{Resync: tables})
}

// CaptureStopped tells apply that capture stopped after a stop request.
func (s *Store) CaptureStopped(ctx context.Context) error {
	return s.control(ctx, Control{CaptureStopped: true})
}

func (s *Store) control(ctx context.Context, c Control) error {
	c.Format, c.TSMillis = StoreFormat, time.Now().UnixMilli()
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = s.produce(ctx, s.controlKey(), b)
	return err
}

// produce writes one record and returns its offset.
func (s *Store) produce(ctx context.Context, key string, value []byte) (int64, error) {
	cl, err := kgo.NewClient(s.opts...)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	r := &kgo.Record{Topic: s.topic, Partition: 0, Key: []byte(key), Value: value}
	res, err := cl.ProduceSync(ctx, r).First()
	if err != nil {
		return 0, fmt.Errorf("write to %s: %w", s.topic, err)
	}
	return res.Offset, nil
}

// Watch delivers the task's new revisions and control requests written at
// or after offset from (Latest's second result), until ctx is done. Events
// go to the returned channel, which is closed when Watch ends; a read error
// is logged by the caller through the error channel and Watch goes on.
func (s *Store) Watch(ctx context.Context, from int64) (<-chan Event, error) {
	cl, err := kgo.NewClient(append(s.opts[:len(s.opts):len(s.opts)],
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{s.topic: {0: kgo.NewOffset().At(from)}}))...)
	if err != nil {
		return nil, err
	}
	out := make(chan Event, 16)
	go func() {
		defer close(out)
		defer cl.Close()
		for {
			fetches := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				return
			}
			for it := fetches.RecordIter(); !it.Done(); {
				r := it.Next()
				var ev Event
				switch string(r.Key) {
				case s.objectsKey():
					rev, err := decodeRevision(r.Value)
					if err != nil {
						continue // Update never writes one; a stray record is not ours to act on
					}
					ev.Revision = rev
				case s.controlKey():
					var c Control
					if json.Unmarshal(r.Value, &c) != nil {
						continue
					}
					ev.Control = &c
				default:
					continue
				}
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// Reset deletes the task's topics (every topic of the prefix), its record
// in the task and checkpoint topics, and the consumer groups given. It
// cannot be undone, and must not run while a component of the task runs
// (see Running).
//
// It deletes in an order that leaves, if it fails part way, a state a
// second Reset finishes and a start does not lose data in: first the
// checkpoint and task topics (a start from there snapshots every table
// again rather than resuming into deleted topics), then the consumer
// groups, then the event and schema-change topics. Every step is a no-op
// when done already.
func (s *Store) Reset(ctx context.Context, prefix string, groups []string) ([]string, error) {
	cl, err := kgo.NewClient(s.opts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	names := event.Names{Prefix: prefix}
	list, err := adm.ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	var first, rest []string
	for _, t := range list.Names() {
		switch {
		case t == names.Checkpoints() || t == s.topic:
			first = append(first, t)
		case t == prefix || len(t) > len(prefix) && t[:len(prefix)+1] == prefix+".":
			rest = append(rest, t)
		}
	}
	var deleted []string
	del := func(names []string) error {
		if len(names) == 0 {
			return nil
		}
		resp, err := adm.DeleteTopics(ctx, names...)
		if err != nil {
			return fmt.Errorf("delete topics: %w", err)
		}
		for _, r := range resp.Sorted() {
			if r.Err != nil && !errors.Is(r.Err, kerr.UnknownTopicOrPartition) {
				return fmt.Errorf("delete topic %s: %w", r.Topic, r.Err)
			}
			deleted = append(deleted, r.Topic)
		}
		return nil
	}
	if err := del(first); err != nil {
		return deleted, err
	}
	for _, g := range groups {
		resp, err := adm.DeleteGroups(ctx, g, g+".__ddl")
		if err != nil {
			return deleted, fmt.Errorf("delete consumer group %s: %w", g, err)
		}
		for _, r := range resp {
			if r.Err != nil && !isGroupMissing(r.Err) {
				return deleted, fmt.Errorf("delete consumer group %s: %w", r.Group, r.Err)
			}
		}
	}
	return deleted, del(rest)
}

// isGroupMissing reports whether a group deletion failed only because the
// group does not exist.
func isGroupMissing(err error) bool {
	return errors.Is(err, kerr.GroupIDNotFound)
}
