package console

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/status"
	"github.com/syncline/syncline/task"
)

// sample is what one look at the task found.
type sample struct {
	at     time.Time
	report *status.Report
	err    error
	// metrics are the components' metrics; nil outside dev and demo.
	metrics *metricSums
	// deadLetters counts the records of each group's dead-letter topic.
	deadLetters map[string]deadLetters
	objects     *ObjectsView
}

type deadLetters struct {
	topic   string
	records int64
}

// collect takes one sample. An error reading one part is shown with the
// rest.
func (s *Server) collect(ctx context.Context) *sample {
	sm := &sample{at: time.Now()}
	sm.report, sm.err = s.mon.Collect(ctx)
	if s.cfg.Metrics != nil {
		sm.metrics = gatherSums(s.cfg.Metrics)
	}
	names, err := s.listTopics(ctx)
	if err != nil {
		sm.err = errors.Join(sm.err, err)
		return sm
	}
	prefix := s.cfg.Status.Prefix
	var dlq []string
	hasTask := false
	for _, n := range names {
		if _, ok := (event.Names{Prefix: prefix}).DeadLetterGroup(n); ok {
			dlq = append(dlq, n)
		}
		hasTask = hasTask || n == task.TopicName(prefix)
	}
	if len(dlq) > 0 {
		sm.deadLetters, err = s.countDeadLetters(ctx, dlq)
		sm.err = errors.Join(sm.err, err)
	}
	// Only read an existing task topic: reading creates it.
	if hasTask {
		rev, _, err := s.store.Latest(ctx)
		switch {
		case errors.Is(err, task.ErrNoRevision):
		case err != nil:
			sm.err = errors.Join(sm.err, err)
		default:
			sm.objects = &ObjectsView{Revision: rev.Revision, Change: rev.Change, TSMillis: rev.TSMillis, Objects: rev.Objects}
		}
	}
	return sm
}

// countDeadLetters counts the records of dead-letter topics, by group.
func (s *Server) countDeadLetters(ctx context.Context, topicNames []string) (map[string]deadLetters, error) {
	adm := kadm.NewClient(s.cl)
	starts, err := adm.ListStartOffsets(ctx, topicNames...)
	if err != nil {
		return nil, err
	}
	ends, err := adm.ListEndOffsets(ctx, topicNames...)
	if err != nil {
		return nil, err
	}
	out := map[string]deadLetters{}
	names := event.Names{Prefix: s.cfg.Status.Prefix}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			return
		}
		group, _ := names.DeadLetterGroup(o.Topic)
		d := out[group]
		d.topic = o.Topic
		st, _ := starts.Lookup(o.Topic, o.Partition)
		d.records += max(o.Offset-st.Offset, 0)
		out[group] = d
	})
	return out, nil
}
