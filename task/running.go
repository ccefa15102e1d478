package task

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/topics"
)

// Components says which components of a task run.
type Components struct {
	// Capture describes a running capture ("" when none runs): one that
	// wrote its checkpoint more recently than the freshness given to
	// Running.
	Capture string
	// Groups describes each consumer group with members, by group name.
	Groups map[string]string
}

// Any reports whether any component runs.
func (c Components) Any() bool { return c.Capture != "" || len(c.Groups) > 0 }

// String lists what runs, e.g. "capture (checkpoint written 1s ago),
// apply group g (2 members: host-a, host-b)".
func (c Components) String() string {
	var parts []string
	if c.Capture != "" {
		parts = append(parts, c.Capture)
	}
	for _, g := range slices.Sorted(maps.Keys(c.Groups)) {
		parts = append(parts, c.Groups[g])
	}
	return strings.Join(parts, ", ")
}

// Running tells which components of the task run: a capture whose
// checkpoint (in the prefix's checkpoint topic, under the capture's name)
// is younger than fresh (a running capture writes one at least every
// heartbeat, even on an idle source), and the consumer groups given that
// have members (apply processes).
func (s *Store) Running(ctx context.Context, prefix, captureName string, groups []string, fresh time.Duration) (Components, error) {
	var out Components
	cp, err := topics.ReadCheckpoint(ctx, s.opts, event.Names{Prefix: prefix}.Checkpoints(), captureName)
	switch {
	case errors.Is(err, topics.ErrNoCheckpoint), errors.Is(err, kerr.UnknownTopicOrPartition):
	case err != nil:
		return out, fmt.Errorf("read the checkpoint of capture %s: %w", captureName, err)
	default:
		if age := time.Since(time.UnixMilli(cp.TSMillis)); age < fresh {
			out.Capture = fmt.Sprintf("capture %s (checkpoint written %s ago)", captureName, age.Round(time.Second))
		}
	}
	if len(groups) == 0 {
		return out, nil
	}
	cl, err := kgo.NewClient(s.opts...)
	if err != nil {
		return out, err
	}
	defer cl.Close()
	described, err := kadm.NewClient(cl).DescribeGroups(ctx, groups...)
	if err != nil {
		return out, fmt.Errorf("describe consumer groups %s: %w", strings.Join(groups, ", "), err)
	}
	for _, g := range groups {
		d, ok := described[g]
		if ok && d.Err != nil && !errors.Is(d.Err, kerr.GroupIDNotFound) {
			return out, fmt.Errorf("describe consumer group %s: %w", g, d.Err)
		}
		if !ok || len(d.Members) == 0 {
			continue
		}
		hosts := make([]string, 0, len(d.Members))
		for _, m := range d.Members {
			hosts = append(hosts, strings.TrimPrefix(m.ClientHost, "/"))
		}
		slices.Sort(hosts)
		hosts = slices.Compact(hosts)
		if out.Groups == nil {
			out.Groups = map[string]string{}
		}
		members := "1 member"
		if len(d.Members) != 1 {
			members = fmt.Sprintf("%d members", len(d.Members))
		}
		out.Groups[g] = fmt.Sprintf("consumer group %s (%s, on %s)", g, members, strings.Join(hosts, ", "))
	}
	return out, nil
}

// StopAndWait asks the task's components to stop cleanly (RequestStop)
// and waits until they did: capture, when Running found one, until it
// reports that it stopped with everything committed, and the groups until
// they have no members (each apply drains and leaves). It returns an error
// naming what still runs when ctx ends first.
func (s *Store) StopAndWait(ctx context.Context, prefix, captureName string, groups []string, fresh time.Duration) error {
	running, err := s.Running(ctx, prefix, captureName, groups, fresh)
	if err != nil {
		return err
	}
	_, from, err := s.Latest(ctx)
	if err != nil && !errors.Is(err, ErrNoRevision) {
		return err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := s.Watch(wctx, from)
	if err != nil {
		return err
	}
	if err := s.RequestStop(ctx); err != nil {
		return err
	}
	captureStopped := running.Capture == ""
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if ev.Control != nil && ev.Control.CaptureStopped {
				captureStopped = true
			}
		case <-tick.C:
			if !captureStopped {
				continue
			}
			now, err := s.Running(ctx, prefix, captureName, groups, 0)
			if err != nil {
				return err
			}
			if !now.Any() {
				return nil
			}
			running = now
		case <-ctx.Done():
			if !captureStopped {
				running.Capture = "capture " + captureName + " (it has not reported stopping)"
			}
			return fmt.Errorf("still running after the stop request: %s", running)
		}
	}
}
