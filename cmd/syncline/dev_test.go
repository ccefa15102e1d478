package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/testenv"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// bgRun is syncline running in the background of a test.
type bgRun struct {
	t         *testing.T
	args      []string
	cancel    context.CancelFunc
	out, errb syncBuffer
	done      chan int
	once      sync.Once
	code      int
}

// background runs syncline with args until Stop is called (or the test
// ends).
func background(t *testing.T, args ...string) *bgRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &bgRun{t: t, args: args, cancel: cancel, done: make(chan int, 1)}
	go func() { r.done <- run(ctx, append([]string{"syncline"}, args...), &r.out, &r.errb) }()
	t.Cleanup(func() { r.Stop() })
	return r
}

// Output returns what it has written so far.
func (r *bgRun) Output() (stdout, stderr string) { return r.out.String(), r.errb.String() }

// Stop cancels its context, waits for it to return and returns the exit
// status, stdout and stderr.
func (r *bgRun) Stop() (code int, stdout, stderr string) {
	r.once.Do(func() {
		r.cancel()
		select {
		case r.code = <-r.done:
		case <-time.After(time.Minute):
			r.t.Errorf("syncline %s did not stop within a minute of its context\nstderr:\n%s", r.args[0], r.errb.String())
		}
	})
	return r.code, r.out.String(), r.errb.String()
}

// freePorts returns n ports of 127.0.0.1 that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// change is one decoded change event.
type change struct {
	id int64
	op string
}

// countChanges counts the change events of a table topic; 0 while the
// topic cannot be read.
func countChanges(t *testing.T, brokers []string, registry, topic string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	adm, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	ends, err := kadm.NewClient(adm).ListCommittedOffsets(ctx, topic)
	adm.Close()
	if o, _ := ends.Lookup(topic, 0); err != nil || o.Err != nil || o.Offset <= 0 {
		return 0
	}
	return len(readChanges(t, brokers, registry, topic))
}

// readChanges reads every committed change event of a table topic, in
// order; tombstones are left out.
func readChanges(t *testing.T, brokers []string, registry, topic string) []change {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	ends, err := kadm.NewClient(adm).ListCommittedOffsets(ctx, topic)
	adm.Close()
	if err != nil {
		t.Fatal(err)
	}
	end, _ := ends.Lookup(topic, 0)
	if end.Offset <= 0 {
		return nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	src, err := sr.NewClient(sr.URLs(registry))
	if err != nil {
		t.Fatal(err)
	}
	reg := event.NewRegistry(src)
	decode := func(b []byte) map[string]any {
		id, body, err := event.ParseFrame(b)
		if err != nil {
			t.Fatal(err)
		}
		codec, err := reg.Codec(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := codec.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	var out []change
	for {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		fs := cl.PollFetches(pctx)
		pcancel()
		if fs.NumRecords() == 0 {
			return out
		}
		last := int64(-1)
		fs.EachRecord(func(r *kgo.Record) {
			last = r.Offset
			if r.Offset >= end.Offset || r.Value == nil {
				return
			}
			key := decode(r.Key)
			var id int64
			switch v := key["id"].(type) {
			case int32:
				id = int64(v)
			case int64:
				id = v
			case int:
				id = int64(v)
			default:
				t.Fatalf("key %v: id is %T", key, key["id"])
			}
			out = append(out, change{id: id, op: decode(r.Value)["op"].(string)})
		})
		if last >= end.Offset-2 {
			return out
		}
	}
}

// checkChanges checks that the changes create ids 1..rows once each (by
// snapshot or insert) and update ids 1..updates once each.
func checkChanges(t *testing.T, changes []change, rows, updates int) {
	t.Helper()
	created, updated := map[int64]int{}, map[int64]int{}
	for _, c := range changes {
		switch c.op {
		case "r", "c":
			created[c.id]++
		case "u":
			updated[c.id]++
		default:
			t.Fatalf("unexpected %q of id %d", c.op, c.id)
		}
	}
	for id := int64(1); id <= int64(rows); id++ {
		if created[id] != 1 {
			t.Errorf("id %d created %d times, want once", id, created[id])
		}
	}
	for id := int64(1); id <= int64(updates); id++ {
		if updated[id] != 1 {
			t.Errorf("id %d updated %d times, want once", id, updated[id])
		}
	}
	if len(created) != rows || len(updated) != updates {
		t.Errorf("%d ids created and %d updated, want %d and %d", len(created), len(updated), rows, updates)
	}
}

func insertRows(t *testing.T, src *testenv.MySQL, table string, from, to int) {
	t.Helper()
	var vals []string
	for i := from; i <= to; i++ {
		vals = append(vals, fmt.Sprintf("(%d, 'row %d')", i, i))
	}
	src.Exec(t, "INSERT INTO "+table+" (id, name) VALUES "+strings.Join(vals, ","))
}

// TestDev runs syncline dev, checks that the source's rows reach its
// embedded Kafka and that syncline status reports them, stops it, changes
// the source, and starts it again: it continues without losing or doubling
// a change.
func TestDev(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	tgt := testenv.Target(t)
	t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE IF EXISTS `"+db+"`") })
	tdb := tgt.DB(t, "")
	// targetRows returns the rows of the target's copy of the table; nil
	// until apply has created it.
	targetRows := func() map[int]string {
		rows, err := tdb.Query("SELECT id, name FROM `" + db + "`.items")
		if err != nil {
			return nil
		}
		defer rows.Close()
		out := map[int]string{}
		for rows.Next() {
			var id int
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				t.Fatal(err)
			}
			out[id] = name
		}
		return out
	}
	table := db + ".items"
	src.Exec(t, "CREATE TABLE "+table+" (id INT PRIMARY KEY, name VARCHAR(40))")
	insertRows(t, src, table, 1, 100)

	ports := freePorts(t, 2)
	brokers := []string{"127.0.0.1:" + strconv.Itoa(ports[0])}
	registry := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	prefix := "dev_" + db
	topic := event.Names{Prefix: prefix}.Table(db, "items")
	args := []string{"dev", "--source", src.URL(""), "--tables", db + ".*", "--data-dir", t.TempDir(),
		"--kafka-port", strconv.Itoa(ports[0]), "--registry-port", strconv.Itoa(ports[1]),
		"--topic-prefix", prefix, "--flush-interval", "20ms", "--heartbeat", "200ms", "--log-format", "json",
		"--target", tgt.URL("")}

	dev := background(t, args...)
	waitUntil(t, 30*time.Second, "the snapshot in the embedded Kafka", func() bool {
		return countChanges(t, brokers, registry, topic) == 100
	})
	insertRows(t, src, table, 101, 120)
	waitUntil(t, 10*time.Second, "the inserts in the embedded Kafka", func() bool {
		return countChanges(t, brokers, registry, topic) == 120
	})

	waitUntil(t, 30*time.Second, "the rows in the target", func() bool { return len(targetRows()) == 120 })

	code, stdout, stderr := runCLI(t, "status", "--brokers", brokers[0], "--registry", registry, "--topic-prefix", prefix, "--interval", "200ms")
	if code != 0 || !strings.Contains(stdout, table) || !strings.Contains(stdout, "streaming") || !strings.Contains(stdout, "registry: 2 subjects") ||
		!strings.Contains(stdout, fmt.Sprintf("group %q: ", prefix+"-apply-mysql")) {
		t.Fatalf("syncline status: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	watch := background(t, "status", "--brokers", brokers[0], "--registry", registry, "--topic-prefix", prefix, "--interval", "100ms", "--watch")
	time.Sleep(700 * time.Millisecond)
	code, stdout, stderr = watch.Stop()
	if n := strings.Count(stdout, fmt.Sprintf("task %q", prefix)); code != 0 || n < 3 {
		t.Fatalf("syncline status --watch: exit %d, %d reports in 700ms at 100ms intervals\nstdout:\n%s\nstderr:\n%s", code, n, stdout, stderr)
	}

	code, _, stderr = dev.Stop()
	if code != 0 {
		t.Fatalf("syncline dev exited with %d:\n%s", code, stderr)
	}
	for line := range strings.Lines(stderr) {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("--log-format json, but a log line is not JSON: %q", line)
		}
	}
	if !strings.Contains(stderr, "syncline dev running") {
		t.Fatalf("log lacks the start line:\n%s", stderr)
	}

	// While dev is stopped, the source moves on.
	insertRows(t, src, table, 121, 150)
	src.Exec(t, "UPDATE "+table+" SET name = 'updated' WHERE id <= 10")

	dev = background(t, args...)
	waitUntil(t, 30*time.Second, "the changes made while stopped", func() bool {
		return countChanges(t, brokers, registry, topic) >= 160
	})
	time.Sleep(300 * time.Millisecond) // a few heartbeats: nothing more may come
	checkChanges(t, readChanges(t, brokers, registry, topic), 150, 10)
	waitUntil(t, 30*time.Second, "the target equal to the source", func() bool {
		rows := targetRows()
		if len(rows) != 150 {
			return false
		}
		for id, name := range rows {
			want := fmt.Sprintf("row %d", id)
			if id <= 10 {
				want = "updated"
			}
			if name != want {
				return false
			}
		}
		return true
	})
	if code, _, stderr := dev.Stop(); code != 0 {
		t.Fatalf("second syncline dev exited with %d:\n%s", code, stderr)
	}
}

func TestDevUsageErrors(t *testing.T) {
	good := []string{"dev", "--source", "mysql://u@127.0.0.1:3306/", "--tables", "shop.*", "--data-dir", t.TempDir()}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{append(good, "--brokers", "k:9092"), "--brokers: dev runs its own Kafka"},
		{append(good, "--kafka-port", "70000"), "kafka-port: 70000 is not a port"},
		{append(good, "--target", "oracle://x/"), "--target: bad connection string"},
		{append(good, "--on-error", "ignore"), `on-error: "ignore" is not one of stop, dead-letter`},
		{append(good, "--skip-ddl", "x"), `--skip-ddl "x"`},
		{[]string{"dev", "--tables", "shop.*"}, "missing required flag --source"},
		{append(good, "--kafka-tls"), "unknown flag --kafka-tls"},
	} {
		code, _, stderr := runCLI(t, tt.args...)
		if code != exitUsage || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line with %q", tt.args[1:], code, stderr, tt.want)
		}
	}
}

// waitUntil polls cond until it holds or d has passed.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, d, what, cond)
}

func TestNewCommandsHelp(t *testing.T) {
	t.Setenv("SYNCLINE_SOURCE", "mysql://capture:"+password+"@db:3306/")
	t.Setenv("SYNCLINE_TARGET", "postgres://apply:"+password+"@pg:5432/app")
	for _, tt := range []struct{ cmd, want string }{
		{"dev", "For one machine only"},
		{"demo", "private MariaDB"},
		{"status", "--watch"},
	} {
		code, stdout, stderr := runCLI(t, tt.cmd, "--help")
		if code != exitOK || !strings.Contains(stdout, tt.want) {
			t.Errorf("syncline %s --help: exit %d, stderr %q, stdout lacks %q", tt.cmd, code, stderr, tt.want)
		}
		if strings.Contains(stdout+stderr, password) {
			t.Errorf("syncline %s --help shows the password", tt.cmd)
		}
	}
}
