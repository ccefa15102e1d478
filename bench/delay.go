package bench

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/client"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/pipeline"
	"github.com/syncline/syncline/topics"
)

const (
	// delayTick is how often the delay writer commits a transaction.
	delayTick = 10 * time.Millisecond
	// delayPoll is the pause between two looks at the target.
	delayPoll = 2 * time.Millisecond
	// delayWindow is the length of the first and last windows compared to
	// see whether the delay grows (shorter for short phases).
	delayWindow = 10 * time.Second
	// drainTimeout bounds the wait for the last rows after a phase.
	drainTimeout = 2 * time.Minute
)

// delayBench is benchmark 5: the delay from source commit to target
// visibility, with capture and apply running with their defaults into
// MySQL, while a writer commits a steady rate of inserts.
func (h *harness) delayBench(ctx context.Context) []Result {
	slow := Result{
		Name: fmt.Sprintf("Delay, source commit to MySQL target, at %s row changes/s", thousands(float64(h.cfg.SlowRate))),
		Key:  "delay-slow", Target: "p99 < 1 s",
	}
	fast := Result{
		Name: fmt.Sprintf("Delay at %s row changes/s", thousands(float64(h.cfg.FastRate))),
		Key:  "delay-fast", Target: "keeps up: delay does not grow",
	}
	fail := func(err error) []Result { return []Result{slow.failed(err), fast.failed(err)} }
	if err := h.resetMySQL(ctx); err != nil {
		return fail(err)
	}
	if err := h.sourceExec("CREATE TABLE " + h.table("live") + " (" + tableColumns + ")"); err != nil {
		return fail(err)
	}
	prefix := h.prefix("delay")
	ccfg, err := h.captureConfig(prefix, "live", capture.SnapshotInitial)
	if err != nil {
		return fail(err)
	}
	// The pipeline syncline dev runs: capture and an apply to MySQL.
	pcfg := pipeline.Config{
		Capture: ccfg, Logger: h.log,
		Applies: []pipeline.Apply{{Target: h.tgt, Config: apply.Config{
			Kafka: topics.Kafka{Brokers: h.srv.Kafka.Brokers}, RegistryURL: h.srv.Kafka.RegistryURL,
			Prefix: prefix, Group: prefix + "-mysql",
		}}},
		NewSink: func(tgt endpoint.Endpoint, _ *slog.Logger) (apply.Sink, error) {
			return h.sink(tgt)
		},
	}
	watch, stopAll := background(ctx, "pipeline", func(ctx context.Context) error { return pipeline.Run(ctx, pcfg) })

	writer, err := endpoint.DialMySQL(ctx, h.src, 10*time.Second)
	if err != nil {
		_ = stopAll()
		return fail(err)
	}
	defer writer.Close()
	poller, err := endpoint.DialMySQL(ctx, h.tgt, 10*time.Second)
	if err != nil {
		_ = stopAll()
		return fail(err)
	}
	defer poller.Close()
	d := &delayRun{h: h, writer: writer, poller: poller, nextID: 1}
	// One row through the whole pipeline first: the target table exists
	// and every part is running.
	if _, err := d.phase(watch, 1, time.Second, ""); err != nil {
		_ = stopAll()
		return fail(fmt.Errorf("warm-up: %w", err))
	}
	slowRun, err := d.phase(watch, h.cfg.SlowRate, h.cfg.Phase, slow.Key)
	if err != nil {
		_ = stopAll()
		return fail(err)
	}
	fastRun, err := d.phase(watch, h.cfg.FastRate, h.cfg.Phase, fast.Key)
	if err != nil {
		_ = stopAll()
		return []Result{slowRun.result(ctx, slow, false), fast.failed(err)}
	}
	if err := stopAll(); err != nil {
		return fail(err)
	}
	_ = h.kafka.deletePrefix(ctx, prefix)
	return []Result{slowRun.result(ctx, slow, false), fastRun.result(ctx, fast, true)}
}

// delayRun is the writer and the poller of the delay benchmark.
type delayRun struct {
	h      *harness
	writer *client.Conn // on the source
	poller *client.Conn // on the target
	nextID int64
}

// sample is the delay of one source transaction.
type sample struct {
	at    time.Duration // commit time, since the phase began
	delay time.Duration // commit to visible in the target
}

// commit is one committed source transaction.
type commit struct {
	lastID int64
	at     time.Time
}

// phaseRun is the outcome of one phase.
type phaseRun struct {
	rate     int
	length   time.Duration
	samples  []sample // in commit order
	written  int
	wrote    time.Duration // first commit to last
	drained  time.Duration // last commit to its arrival
	profiles []string
}

// phase writes rate rows a second for length and measures the delay of
// each transaction.
func (d *delayRun) phase(ctx context.Context, rate int, length time.Duration, profile string) (*phaseRun, error) {
	perTick := max(1, rate*int(delayTick)/int(time.Second))
	tick := time.Duration(int64(time.Second) * int64(perTick) / int64(rate))
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", 10), ", ") + ")"
	stmt, err := d.writer.Prepare("INSERT INTO " + d.h.table("live") + " (" + columnList + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(one+", ", perTick), ", "))
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	commits := make(chan commit, 1<<16)
	werr := make(chan error, 1)
	wctx, cancelWriter := context.WithCancel(ctx)
	defer cancelWriter()
	stopProfile := d.h.startProfile(profile)
	defer stopProfile()
	began := time.Now()
	id := d.nextID
	done := make(chan struct{})
	defer func() {
		cancelWriter()
		for range commits {
		}
		<-done
	}()
	go func() {
		defer close(done)
		defer close(commits)
		args := make([]any, 0, 10*perTick)
		for k := 0; ; k++ {
			due := began.Add(time.Duration(k) * tick)
			if due.Sub(began) >= length || wctx.Err() != nil {
				werr <- nil
				return
			}
			time.Sleep(time.Until(due))
			args = args[:0]
			for i := range perTick {
				args = makeRow(id+int64(i), false).mysqlArgs(args)
			}
			if _, err := stmt.Execute(args...); err != nil {
				werr <- err
				return
			}
			id += int64(perTick)
			commits <- commit{lastID: id - 1, at: time.Now()}
		}
	}()

	run := &phaseRun{rate: rate, length: length}
	var pending []commit
	var first, last time.Time
	in := commits // nil once the writer is done
	for in != nil || len(pending) > 0 {
		// Take what the writer committed.
		for more := in != nil; more; {
			select {
			case c, ok := <-in:
				if !ok {
					in, more = nil, false
					if err := <-werr; err != nil {
						return nil, fmt.Errorf("writer: %w", err)
					}
					break
				}
				if first.IsZero() {
					first = c.at
				}
				last = c.at
				pending = append(pending, c)
				run.written += perTick
			default:
				more = false
			}
		}
		if len(pending) > 0 {
			res, err := d.poller.Execute("SELECT COALESCE(MAX(id), 0) FROM " + d.h.table("live"))
			if err != nil && !strings.Contains(err.Error(), "doesn't exist") {
				return nil, fmt.Errorf("poll the target: %w", err)
			}
			now := time.Now()
			if err == nil {
				seen, _ := res.GetInt(0, 0)
				k := 0
				for k < len(pending) && pending[k].lastID <= seen {
					run.samples = append(run.samples, sample{at: pending[k].at.Sub(began), delay: now.Sub(pending[k].at)})
					k++
				}
				pending = pending[k:]
			}
			if in == nil && len(pending) > 0 && now.Sub(last) > drainTimeout {
				return nil, fmt.Errorf("%d transactions did not reach the target within %s of the last commit", len(pending), drainTimeout)
			}
		}
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-time.After(delayPoll):
		}
	}
	d.nextID = id
	run.wrote = last.Sub(first)
	run.drained = time.Since(last)
	if p := d.h.profilePath(profile); p != "" {
		run.profiles = []string{p}
	}
	return run, nil
}

// percentile returns the q-quantile (0..1) of sorted delays.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// delays returns the sorted delays of the samples committed in [from, to).
func (r *phaseRun) delays(from, to time.Duration) []time.Duration {
	var out []time.Duration
	for _, s := range r.samples {
		if s.at >= from && s.at < to {
			out = append(out, s.delay)
		}
	}
	slices.Sort(out)
	return out
}

// ms formats a delay in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }

// result turns the phase into a report line: against p99 < 1 s, or, with
// growth, against the delay growing from the first to the last window.
func (r *phaseRun) result(ctx context.Context, res Result, growth bool) Result {
	all := r.delays(0, r.length+time.Hour)
	p50, p99 := percentile(all, 0.5), percentile(all, 0.99)
	res.Syncline = fmt.Sprintf("p50 %s, p99 %s, max %s", ms(p50), ms(p99), ms(percentile(all, 1)))
	res.Profiles = r.profiles
	achieved := 0.0
	if r.wrote > 0 {
		achieved = float64(r.written) / r.wrote.Seconds()
	}
	res.Notes = append(res.Notes, fmt.Sprintf("%d rows in %d transactions over %s; the source took %s rows/s",
		r.written, len(r.samples), r.length, thousands(achieved)))
	res.Status = Met
	if !growth {
		if p99 >= time.Second {
			res.Status = Missed
		}
	} else {
		w := min(delayWindow, r.length/3).Round(100 * time.Millisecond)
		head, tail := r.delays(0, w), r.delays(r.length-w, r.length+time.Hour)
		h50, t50 := percentile(head, 0.5), percentile(tail, 0.5)
		res.Syncline += fmt.Sprintf("; first %s p50 %s, last %s p50 %s", w, ms(h50), w, ms(t50))
		res.Notes = append(res.Notes, fmt.Sprintf("the first %s: p50 %s, p99 %s; the last %s: p50 %s, p99 %s; the last row arrived %s after its commit",
			w, ms(h50), ms(percentile(head, 0.99)), w, ms(t50), ms(percentile(tail, 0.99)), ms(r.drained)))
		// Growing: the median of the last window is above the first's by
		// more than a quarter second and half again.
		if t50 > h50+max(250*time.Millisecond, h50/2) {
			res.Status = Missed
			res.Notes = append(res.Notes, "the delay grew: the pipeline did not keep up")
		}
	}
	if achieved < 0.9*float64(r.rate) {
		res.Status = Missed
		res.Notes = append(res.Notes, fmt.Sprintf("the source writer reached only %s of the %s rows/s asked for", thousands(achieved), thousands(float64(r.rate))))
	}
	res.readTop(ctx)
	return res
}
