package apply_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/testenv"
	"github.com/syncline/syncline/topics"
)

// refusingTarget prepares a pipeline whose target table t refuses the value
// 'bad' (a CHECK constraint the source does not have), and produces one
// record that is not Avro at all into t's topic, of 2 MB: larger than
// Kafka's default record limit, as a table topic's record may be.
func refusingTarget(t *testing.T) (*pipeline, *testenv.MySQL) {
	p := newPipeline(t)
	tgt := testenv.Target(t)
	p.spec.Target = tgt.URL("")
	p.spec.Existing = string(apply.ExistingWrite)
	t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE IF EXISTS `"+p.db+"`") })
	p.exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))")
	tgt.Exec(t, "CREATE DATABASE `"+p.db+"`")
	tgt.Exec(t, "CREATE TABLE `"+p.db+"`.t (id INT PRIMARY KEY, v VARCHAR(20) CHECK (v <> 'bad'))")
	p.exec("INSERT INTO t VALUES (1, 'a'), (2, 'bad'), (3, 'c')")
	p.startCapture()
	topic := p.prefix + "." + p.db + ".t"
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.kafka.Brokers...), kgo.ProducerBatchMaxBytes(topics.MaxBatchBytes))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	notAvro := append([]byte("not avro"), bytes.Repeat([]byte{'x'}, 2<<20)...)
	waitFor(t, 30*time.Second, "capture to create "+topic, func() bool {
		return cl.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Key: []byte{0, 0, 0, 0, 1, 2}, Value: notAvro}).FirstErr() == nil
	})
	p.exec("INSERT INTO t VALUES (4, 'd')")
	return p, tgt
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, d, what, cond)
}

// TestOnErrorStop: a record the target refuses stops apply with an error
// naming its topic, partition and offset, and the flag.
func TestOnErrorStop(t *testing.T) {
	p, _ := refusingTarget(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := p.newApply(nil)(ctx)
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("apply returned %v; want it to stop on the refused row", err)
	}
	msg := err.Error()
	for _, want := range []string{"topic " + p.prefix + "." + p.db + ".t", "partition 0", "offset ", "--on-error dead-letter"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	t.Logf("apply stopped: %v", err)
}

// TestDeadLetter: with --on-error dead-letter, the refused row and the
// record that cannot be decoded go to <prefix>.__dlq.<group> with the
// reason in headers, and everything else is applied. Metrics count them.
func TestDeadLetter(t *testing.T) {
	p, tgt := refusingTarget(t)
	p.spec.OnError = string(apply.OnErrorDeadLetter)
	reg := prometheus.NewRegistry()
	runInBackground(t, "apply", p.newApply(reg))
	tdb := tgt.DB(t, "")
	waitFor(t, 60*time.Second, "rows 1, 3 and 4 in the target", func() bool {
		var n int
		_ = tdb.QueryRow("SELECT COUNT(*) FROM `" + p.db + "`.t WHERE id IN (1, 3, 4)").Scan(&n)
		return n == 3
	})
	dlq := p.prefix + ".__dlq." + p.spec.Group
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.kafka.Brokers...), kgo.ConsumeTopics(dlq), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for len(recs) < 2 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	}
	if len(recs) != 2 {
		t.Fatalf("%d records in %s, want 2", len(recs), dlq)
	}
	var reasons []string
	for _, r := range recs {
		h := map[string]string{}
		for _, kv := range r.Headers {
			h[kv.Key] = string(kv.Value)
		}
		if h["syncline.topic"] != p.prefix+"."+p.db+".t" || h["syncline.offset"] == "" || h["syncline.error"] == "" {
			t.Errorf("dead letter headers: %v", h)
		}
		if strings.Contains(h["syncline.error"], "wire-format") && len(r.Value) != 8+2<<20 {
			t.Errorf("the dead letter of the 2 MB record has %d bytes", len(r.Value))
		}
		reasons = append(reasons, h["syncline.error"])
	}
	all := strings.Join(reasons, "\n")
	if !strings.Contains(all, "not a Confluent wire-format message") || !strings.Contains(all, "CONSTRAINT") {
		t.Errorf("reasons:\n%s", all)
	}
	if got := counter(t, reg, "syncline_apply_dead_letters_total"); got != 2 {
		t.Errorf("dead letters metric %v, want 2", got)
	}
	if got := counter(t, reg, "syncline_apply_rows_total"); got < 3 {
		t.Errorf("rows metric %v, want at least 3", got)
	}
	if got := gauge(t, reg, "syncline_apply_delay_seconds"); got <= 0 || got > 60 {
		t.Errorf("delay metric %v", got)
	}
}

// counter sums a counter family.
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	sum := 0.0
	for _, m := range family(t, reg, name) {
		sum += m.GetCounter().GetValue()
	}
	return sum
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	ms := family(t, reg, name)
	if len(ms) == 0 {
		return 0
	}
	return ms[0].GetGauge().GetValue()
}

func family(t *testing.T, reg *prometheus.Registry, name string) []*dto.Metric {
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			return f.GetMetric()
		}
	}
	return nil
}

// TestRetryWindow: a target that stays down longer than the retry window
// stops apply with an error naming the window; nothing is committed, so a
// later apply writes everything.
func TestRetryWindow(t *testing.T) {
	p := newPipeline(t)
	tgt := testenv.StartMariaDB(t, testenv.MariaDBOptions{NoBinlog: true, ServerID: 6})
	p.spec.Target = tgt.URL("")
	p.spec.RetryWindow = 3 * time.Second
	p.exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))")
	p.exec("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
	p.startCapture()
	if err := tgt.Stop(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	began := time.Now()
	err := p.newApply(nil)(ctx)
	if !errors.Is(err, apply.ErrRetryWindow) || !strings.Contains(err.Error(), "--retry-window") {
		t.Fatalf("apply against a stopped target returned %v; want ErrRetryWindow naming --retry-window", err)
	}
	t.Logf("stopped after %s: %v", time.Since(began).Round(time.Millisecond), err)
	if err := tgt.Start(); err != nil {
		t.Fatal(err)
	}
	p.startApply()
	waitEqual(t, 60*time.Second, []string{"t"}, mysqlCompare(t, p, tgt))
}

// TestDelayGrowsWhileTargetStalls: while the target holds apply's write (a
// table lock another session took), the delay figure grows with the clock,
// so an alert on it fires; once the write goes through and the source is
// idle, it stays where it was instead of growing with the idle time.
func TestDelayGrowsWhileTargetStalls(t *testing.T) {
	p := newPipeline(t)
	tgt := testenv.Target(t)
	p.spec.Target = tgt.URL("")
	t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE IF EXISTS `"+p.db+"`") })
	p.exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))")
	p.exec("INSERT INTO t VALUES (1, 'a')")
	p.startCapture()
	reg := prometheus.NewRegistry()
	runInBackground(t, "apply", p.newApply(reg))
	tdb := tgt.DB(t, "")
	rows := func() int {
		var n int
		_ = tdb.QueryRow("SELECT COUNT(*) FROM `" + p.db + "`.t").Scan(&n)
		return n
	}
	waitFor(t, 60*time.Second, "row 1 in the target", func() bool { return rows() == 1 })
	delay := func() float64 { return gauge(t, reg, "syncline_apply_delay_seconds") }
	if d := delay(); d > 3 {
		t.Fatalf("delay %.1f s after the first row", d)
	}

	ctx := context.Background()
	lock, err := tdb.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(ctx, "LOCK TABLES `"+p.db+"`.t WRITE"); err != nil {
		t.Fatal(err)
	}
	p.exec("INSERT INTO t VALUES (2, 'b')")
	waitFor(t, 30*time.Second, "the delay to grow past 4 s while the write waits", func() bool { return delay() > 4 })
	if _, err := lock.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "row 2 in the target", func() bool { return rows() == 2 })
	time.Sleep(500 * time.Millisecond) // the offsets' commit follows the write
	settled := delay()
	time.Sleep(3 * time.Second)
	if d := delay(); d > settled+0.5 {
		t.Errorf("idle and caught up, the delay grew from %.1f s to %.1f s", settled, d)
	}
}
