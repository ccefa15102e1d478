package status_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/filter"
	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/status"
	"github.com/syncline/syncline/testenv"
	"github.com/syncline/syncline/topics"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// TestStatusOfRunningCapture runs a real capture and a consumer group that
// applied part of one table, and checks the report against what the source
// and Kafka really hold.
func TestStatusOfRunningCapture(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	src := testenv.Source(t)
	k := testenv.Kafka(t)
	db := src.NewDatabase(t)
	prefix := "st_" + db
	names := event.Names{Prefix: prefix}
	src.Exec(t, "CREATE TABLE "+db+".a (id INT PRIMARY KEY, n INT)")
	src.Exec(t, "CREATE TABLE "+db+".b (id INT PRIMARY KEY, n INT)")
	insert(t, src, db+".a", 1, 50)
	insert(t, src, db+".b", 1, 20)

	srcEP, err := endpoint.Parse(src.URL(""))
	if err != nil {
		t.Fatal(err)
	}
	sel, err := filter.Parse(db+".*", "")
	if err != nil {
		t.Fatal(err)
	}
	cp, err := capture.New(capture.Config{
		Source: srcEP, Kafka: topics.Kafka{Brokers: k.Brokers}, RegistryURL: k.RegistryURL,
		Prefix: prefix, Tables: sel, FlushInterval: 20 * time.Millisecond, Heartbeat: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	cctx, stopCapture := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- cp.Run(cctx) }()
	defer func() {
		stopCapture()
		if err := <-done; err != nil {
			t.Errorf("capture: %v", err)
		}
	}()

	mon, err := status.New(status.Config{Kafka: topics.Kafka{Brokers: k.Brokers}, RegistryURL: k.RegistryURL, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Close()

	// Wait until both snapshots are done and the rows are in Kafka.
	var rep *status.Report
	waitFor(t, 30*time.Second, "both tables streaming", func() bool {
		rep, err = mon.Collect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return rep.Capture != nil && len(rep.Tables) == 2 && rep.Capture.Snapshotting() == 0 &&
			rep.Tables[0].Topic != "" && rep.Tables[1].Topic != ""
	})
	if rep.Groups != nil {
		t.Fatalf("groups %+v before any consumer committed", rep.Groups)
	}
	for i, want := range []struct {
		name  string
		rows  int64
		topic string
	}{{db + ".a", 50, names.Table(db, "a")}, {db + ".b", 20, names.Table(db, "b")}} {
		tb := rep.Tables[i]
		if tb.Name != want.name || tb.Topic != want.topic || tb.Stage != topics.StageStreaming || tb.SnapshotRows != want.rows || tb.Partitions != 1 {
			t.Fatalf("table %d: %+v, want %s streaming with %d snapshot rows on %s", i, tb, want.name, want.rows, want.topic)
		}
		// Offsets count the records plus one commit marker per transaction.
		if n := countRecords(t, k.Brokers, want.topic); n != want.rows || tb.End <= n {
			t.Fatalf("%s: %d records in the topic, end offset %d; want %d records below the end", want.name, n, tb.End, want.rows)
		}
	}

	// The checkpoint's position is on the source, and the delay is that of
	// an idle source with heartbeats.
	var file string
	var pos int64
	row := srcDB(t, src).QueryRowContext(ctx, "SHOW MASTER STATUS")
	cols := make([]any, 4)
	cols[0], cols[1] = &file, &pos
	for i := 2; i < len(cols); i++ {
		cols[i] = new(sql.NullString)
	}
	if err := row.Scan(cols...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "capture at the source's position", func() bool {
		rep, err = mon.Collect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c := rep.Capture.Checkpoint
		return c.File == file && int64(c.Pos) == pos
	})
	if d := rep.Capture.Delay; d <= 0 || d > 5*time.Second {
		t.Fatalf("delay %s on an idle source with 200ms heartbeats", d)
	}
	if rep.Subjects != 4 { // a and b, key and value
		t.Fatalf("%d registry subjects of the prefix, want 4", rep.Subjects)
	}

	// A consumer group applies 30 of a's 50 rows and commits.
	group := prefix + "-apply"
	applied := consumeAndCommit(t, k.Brokers, group, names.Table(db, "a"), 30)
	rep, err = mon.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Groups) != 1 || rep.Groups[0].Name != group {
		t.Fatalf("groups %+v, want only %s (found by its commits)", rep.Groups, group)
	}
	g := rep.Groups[0]
	if g.Err != nil || g.State != "Empty" || g.Members != 0 {
		t.Fatalf("group %+v, want Empty without members", g)
	}
	if a := g.Tables[0]; a.Committed != applied || a.Lag != 20 || !a.Exact {
		t.Fatalf("group on a: %+v, want committed %d and an exact lag of 20", a, applied)
	}
	if b := g.Tables[1]; b.Committed != 0 || b.Lag != 20 || !b.Exact {
		t.Fatalf("group on b: %+v, want nothing committed and an exact lag of 20", b)
	}
	if lag, exact := g.Lag(); lag != 40 || !exact {
		t.Fatalf("group lag %d (exact %v), want 40", lag, exact)
	}

	// New rows move the offsets; the next report has rates.
	prev := rep
	insert(t, src, db+".a", 51, 60)
	waitFor(t, 10*time.Second, "the new rows in Kafka", func() bool {
		rep, err = mon.Collect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return countRecords(t, k.Brokers, names.Table(db, "a")) == 60 && rep.Groups[0].Tables[0].Lag == 30
	})
	var out strings.Builder
	if err := rep.WriteText(&out, prev); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		fmt.Sprintf("task %q", prefix), "capture " + fmt.Sprintf("%q", prefix) + ": streaming at " + file,
		db + ".a", db + ".b", "streaming", fmt.Sprintf("group %q: Empty, 0 members, lag 50", group),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	if t.Failed() {
		return
	}
	// The table line of a has a positive rate.
	for line := range strings.Lines(text) {
		if f := strings.Fields(line); len(f) == 5 && f[0] == db+".a" && (f[4] == "-" || f[4] == "0.0") {
			t.Errorf("no rate for a after new rows: %q", line)
		}
	}
}

// TestStatusWithoutCapture reports on a prefix nothing ever wrote to.
func TestStatusWithoutCapture(t *testing.T) {
	k := testenv.Kafka(t)
	mon, err := status.New(status.Config{Kafka: topics.Kafka{Brokers: k.Brokers}, Prefix: "nothing_here", Groups: []string{"g"}})
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Close()
	rep, err := mon.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Capture != nil || len(rep.Tables) != 0 || rep.Subjects != -1 || len(rep.Groups) != 1 {
		t.Fatalf("report %+v, want no capture, no tables, one (named) group", rep)
	}
	var out strings.Builder
	if err := rep.WriteText(&out, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "capture: no checkpoint yet") || !strings.Contains(out.String(), "(none yet)") {
		t.Fatalf("report:\n%s", out.String())
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []status.Config{
		{},
		{Kafka: topics.Kafka{Brokers: []string{"h:1"}}, Prefix: "a.b"},
		{Kafka: topics.Kafka{Brokers: []string{"h:1"}}, Groups: []string{" "}},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	c := status.Config{Kafka: topics.Kafka{Brokers: []string{"h:1"}}}
	if err := c.Validate(); err != nil || c.Prefix != event.DefaultPrefix || c.Capture != event.DefaultPrefix {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
}

func insert(t *testing.T, src *testenv.MySQL, table string, from, to int) {
	t.Helper()
	var vals []string
	for i := from; i <= to; i++ {
		vals = append(vals, fmt.Sprintf("(%d, 0)", i))
	}
	src.Exec(t, "INSERT INTO "+table+" VALUES "+strings.Join(vals, ","))
}

func srcDB(t *testing.T, src *testenv.MySQL) *sql.DB { return src.DB(t, "") }

// countRecords counts the committed records of a one-partition topic.
func countRecords(t *testing.T, brokers []string, topic string) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	end := endOffset(t, brokers, topic)
	var n int64
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		if fs.NumRecords() == 0 {
			return n
		}
		last := int64(-1)
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset < end {
				n++
			}
			last = r.Offset
		})
		if last >= end-2 {
			return n
		}
	}
}

func endOffset(t *testing.T, brokers []string, topic string) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListCommittedOffsets(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := ends.Lookup(topic, 0)
	return o.Offset
}

// consumeAndCommit reads n records of topic and commits the offset after
// the nth for group, as apply does; it returns that offset. The group has
// no members, as when apply is stopped.
func consumeAndCommit(t *testing.T, brokers []string, group, topic string, n int) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []*kgo.Record
	for len(got) < n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		fs := cl.PollRecords(ctx, n-len(got))
		cancel()
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume %s: %v", topic, err)
		}
		got = append(got, fs.Records()...)
	}
	last := got[n-1]
	offsets := kadm.Offsets{}
	offsets.AddOffset(topic, last.Partition, last.Offset+1, last.LeaderEpoch)
	resp, err := kadm.NewClient(cl).CommitOffsets(context.Background(), group, offsets)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	return last.Offset + 1
}

// waitFor polls cond until it holds or d has passed.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, d, what, cond)
}
