package apply

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/task"
)

// captureStopWait is how long apply waits, after syncline task stop, for
// capture to report that it stopped before it drains what Kafka holds
// anyway (capture may not be running).
const captureStopWait = time.Minute

// errTaskStopped ends consume after syncline task stop, once apply
// has written and committed everything capture published; Run returns nil.
var errTaskStopped = errors.New("the task was stopped")

// taskStop follows a task's control requests for the consumer loop.
type taskStop struct {
	events     <-chan task.Event
	askedAt    time.Time // when the stop request arrived
	draining   bool      // capture stopped: read to the end, then stop
	emptyPolls int
}

// watchTask starts following the task's control requests; nil when apply
// runs outside a task.
func (r *run) watchTask(ctx context.Context, opts []kgo.Opt) (*taskStop, error) {
	if r.cfg.Task == "" {
		return nil, nil
	}
	store := task.NewStore(opts, r.cfg.Prefix, r.cfg.Task)
	var next int64
	err := r.retry.do(ctx, classKafka, "read the task topic", func(ctx context.Context) error {
		var err error
		_, next, err = store.Latest(ctx)
		if err != nil && !errors.Is(err, task.ErrNoRevision) {
			return Retryable(err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("task %s: %w", r.cfg.Task, err)
	}
	events, err := store.Watch(ctx, next)
	if err != nil {
		return nil, fmt.Errorf("task %s: %w", r.cfg.Task, err)
	}
	return &taskStop{events: events}, nil
}

// update takes in the control requests that arrived and the last poll's
// outcome, and reports whether apply has drained everything capture
// published before it stopped: capture reported its stop, and two polls in
// a row brought nothing with nothing buffered.
func (s *taskStop) update(polled, buffered int, log *slog.Logger) bool {
	for more := true; more; {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.events, more = nil, false
				break
			}
			switch {
			case ev.Control == nil:
			case ev.Control.Stop && s.askedAt.IsZero():
				s.askedAt = time.Now()
				log.Info("the task was stopped (syncline task stop); draining once capture has stopped")
			case ev.Control.CaptureStopped && !s.askedAt.IsZero():
				s.draining = true
				log.Info("capture stopped; draining what it published")
			}
		default:
			more = false
		}
	}
	if !s.draining && !s.askedAt.IsZero() && time.Since(s.askedAt) > captureStopWait {
		log.Warn("capture did not report stopping; draining what Kafka holds now", "waited", captureStopWait)
		s.draining = true
	}
	if !s.draining {
		return false
	}
	if polled > 0 || buffered > 0 {
		s.emptyPolls = 0
		return false
	}
	s.emptyPolls++
	return s.emptyPolls >= 2
}

// drained finishes a stopped task: the last buffer handed off is written
// and committed, and every schema change capture published is applied
// before apply returns.
func (r *run) drained(ctx context.Context) error {
	if err := r.w.awaitErr(); err != nil {
		return err
	}
	if err := r.ddl.sync(ctx, time.Now()); err != nil {
		return fmt.Errorf("apply the last schema changes: %w", err)
	}
	r.log.Info("drained and committed; stopping for syncline task stop")
	return errTaskStopped
}
