package apply_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/testenv"
)

// TestBrokerRestartsUnderLoad stops and starts the Kafka broker five times
// while capture publishes a write load and two apply processes (one group)
// write it, with nothing to restart them: both applies and capture stay up
// through every restart, and the target ends equal to the source.
func TestBrokerRestartsUnderLoad(t *testing.T) {
	k := testenv.NewRestartableKafka(t)
	p := newPipeline(t)
	p.kafka = &testenv.KafkaCluster{Brokers: k.Brokers, RegistryURL: k.RegistryURL, Registry: k.Registry}
	p.spec.Brokers, p.spec.Registry = k.Brokers, k.RegistryURL
	tgt := testenv.Target(t)
	p.spec.Target = tgt.URL("")
	p.spec.BatchRows = 500
	t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE IF EXISTS `"+p.db+"`") })
	p.createLoadTables()
	p.startCapture()
	applies := []*testenv.Child{testenv.StartChild(t, p.spec), testenv.StartChild(t, p.spec)}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := startLoad(ctx, t, p.srcDB, 2, 7)
	alive := func(when string) {
		t.Helper()
		for i, c := range applies {
			if c.Exited() {
				t.Fatalf("%s: apply %d exited (%v): %s", when, i, c.Wait(), c.Stderr())
			}
		}
	}
	for i := range 5 {
		time.Sleep(2 * time.Second)
		k.Stop()
		time.Sleep(time.Duration(1+i%3) * time.Second)
		if err := k.Start(); err != nil {
			t.Fatal(err)
		}
		alive("after broker restart " + string(rune('1'+i)))
	}
	time.Sleep(2 * time.Second)
	cancel()
	ops := l.wait(t)
	began := time.Now()
	waitEqual(t, 90*time.Second, []string{"orders", "items"}, mysqlCompare(t, p, tgt))
	alive("at the end")
	t.Logf("%d source transactions over 5 broker restarts; target equal %s after the load stopped", ops, time.Since(began).Round(time.Millisecond))
}

// waitRow waits until the target holds the row id of db.table and returns
// how long that took.
func waitRow(t *testing.T, tdb *sql.DB, db, table string, id int, d time.Duration) time.Duration {
	t.Helper()
	began := time.Now()
	waitFor(t, d, fmt.Sprintf("row %d of %s in the target", id, table), func() bool {
		var n int
		_ = tdb.QueryRow("SELECT COUNT(*) FROM `"+db+"`.`"+table+"` WHERE id = ?", id).Scan(&n)
		return n == 1
	})
	return time.Since(began)
}

// TestKilledApplyRejoinsFast kills apply (a child process, under load) with
// SIGKILL and starts it again with the same instance id, the default of
// syncline apply: it gets its partitions back and writes within 10 s, not
// after the old member's session timed out.
func TestKilledApplyRejoinsFast(t *testing.T) {
	p := newPipeline(t)
	tgt := testenv.Target(t)
	p.spec.Target = tgt.URL("")
	host, _ := os.Hostname()
	p.spec.InstanceID = apply.DefaultInstanceID(p.spec.Group, host)
	t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE IF EXISTS `"+p.db+"`") })
	p.createLoadTables()
	p.startCapture()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := startLoad(ctx, t, p.srcDB, 2, 11)
	tdb := tgt.DB(t, "")

	first := testenv.StartChild(t, p.spec)
	p.exec("INSERT INTO orders (id, customer) VALUES (90000001, 'before')")
	waitRow(t, tdb, p.db, "orders", 90000001, 60*time.Second)
	time.Sleep(500 * time.Millisecond)
	first.Kill()

	second := testenv.StartChild(t, p.spec)
	began := time.Now()
	p.exec("INSERT INTO orders (id, customer) VALUES (90000002, 'after')")
	waitRow(t, tdb, p.db, "orders", 90000002, 60*time.Second)
	took := time.Since(began)
	if took > 10*time.Second {
		t.Errorf("the restarted apply wrote the first row %s after it started; want within 10 s", took.Round(time.Millisecond))
	}
	if second.Exited() {
		t.Fatalf("the restarted apply exited: %s", second.Stderr())
	}
	cancel()
	l.wait(t)
	waitEqual(t, 60*time.Second, []string{"orders", "items"}, mysqlCompare(t, p, tgt))
	t.Logf("restarted after SIGKILL, writing again within %s", took.Round(time.Millisecond))
}

// TestTargetOutageRecoversFast stops the target for 12 s while apply runs:
// meanwhile apply is not ready, with the target named, the failing streak
// grows and the last error class is target; once the target is back, the
// changes made meanwhile are written within a few seconds (the backoff is
// capped at --retry-backoff-max, 5 s by default), and the figures are
// healthy again.
func TestTargetOutageRecoversFast(t *testing.T) {
	p := newPipeline(t)
	tgt := testenv.StartMariaDB(t, testenv.MariaDBOptions{NoBinlog: true, ServerID: 7})
	p.spec.Target = tgt.URL("")
	p.exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))")
	p.exec("INSERT INTO t VALUES (1, 'a')")
	p.startCapture()
	reg := prometheus.NewRegistry()
	spec := p.spec
	a, sink, err := spec.buildWith(slog.LevelWarn, apply.NewMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	runInBackground(t, "apply", a.Run)
	tdb := tgt.DB(t, "")
	waitRow(t, tdb, p.db, "t", 1, 60*time.Second)
	waitFor(t, 10*time.Second, "apply to be ready", func() bool { ok, _ := a.Ready(); return ok })

	if err := tgt.Stop(); err != nil {
		t.Fatal(err)
	}
	p.exec("INSERT INTO t VALUES (2, 'b')")
	waitFor(t, 10*time.Second, "apply to report the target failing", func() bool {
		ok, why := a.Ready()
		return !ok && strings.Contains(why, "target")
	})
	time.Sleep(12 * time.Second)
	if got := gauge(t, reg, "syncline_apply_failing_seconds"); got < 8 {
		t.Errorf("failing for %.1f s after a 12 s outage", got)
	}
	if got := labeled(t, reg, "syncline_apply_last_error_class", "class", "target"); got != 1 {
		t.Errorf("last error class target = %v, want 1", got)
	}
	if counter(t, reg, "syncline_apply_retries_total") < 3 {
		t.Errorf("retries: %v", counter(t, reg, "syncline_apply_retries_total"))
	}
	if err := tgt.Start(); err != nil {
		t.Fatal(err)
	}
	took := waitRow(t, tgt.DB(t, ""), p.db, "t", 2, 60*time.Second)
	if took > 7*time.Second {
		t.Errorf("the row made during the outage reached the target %s after it came back; want within a few seconds", took.Round(time.Millisecond))
	}
	waitFor(t, 10*time.Second, "apply to be ready again", func() bool { ok, _ := a.Ready(); return ok })
	if got := gauge(t, reg, "syncline_apply_failing_seconds"); got != 0 {
		t.Errorf("failing seconds %v once the target is back", got)
	}
	t.Logf("written %s after the target came back", took.Round(time.Millisecond))
}

// labeled returns the value of the gauge of name whose label has value.
func labeled(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	for _, m := range family(t, reg, name) {
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == value {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no %s{%s=%q}", name, label, value)
	return 0
}

// TestSIGTERMDuringRejoin sends SIGTERM to apply while its group cannot
// settle: once while the broker is down (the client keeps trying to
// rejoin), once while a second member waits in a rebalance for a member
// that was killed. Each time apply exits within a few seconds, cleanly.
func TestSIGTERMDuringRejoin(t *testing.T) {
	k := testenv.NewRestartableKafka(t)
	p := newPipeline(t)
	p.kafka = &testenv.KafkaCluster{Brokers: k.Brokers, RegistryURL: k.RegistryURL, Registry: k.Registry}
	p.spec.Brokers, p.spec.Registry = k.Brokers, k.RegistryURL
	tgt := testenv.Target(t)
	p.spec.Target = tgt.URL("")
	t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE IF EXISTS `"+p.db+"`") })
	p.exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))")
	p.startCapture()
	tdb := tgt.DB(t, "")

	term := func(c *testenv.Child, when string) {
		t.Helper()
		began := time.Now()
		c.Signal(syscall.SIGTERM)
		select {
		case <-c.Done():
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: apply still runs 30 s after SIGTERM", when)
		}
		took := time.Since(began)
		if took > 5*time.Second {
			t.Errorf("%s: apply took %s to exit after SIGTERM; want a few seconds", when, took.Round(time.Millisecond))
		}
		if err := c.Wait(); err != nil {
			t.Errorf("%s: apply exited with %v: %s", when, err, c.Stderr())
		}
		t.Logf("%s: exited %s after SIGTERM", when, took.Round(time.Millisecond))
	}

	// The broker goes away under a running apply.
	a := testenv.StartChild(t, p.spec)
	p.exec("INSERT INTO t VALUES (1, 'a')")
	waitRow(t, tdb, p.db, "t", 1, 60*time.Second)
	k.Stop()
	time.Sleep(3 * time.Second)
	term(a, "broker down")
	if err := k.Start(); err != nil {
		t.Fatal(err)
	}

	// A member of a group is killed; a new one joins and waits for the
	// killed one's session to time out before the group settles. (A new
	// group: the first apply could not leave its own while the broker was
	// down.)
	spec := p.spec
	spec.Group += "-2"
	killed := testenv.StartChild(t, spec)
	p.exec("INSERT INTO t VALUES (2, 'b')")
	waitRow(t, tdb, p.db, "t", 2, 60*time.Second)
	killed.Kill()
	waiting := testenv.StartChild(t, spec)
	time.Sleep(3 * time.Second)
	term(waiting, "rebalance waiting for a killed member")
}

// TestKafkaOutageReadiness stops the broker under a running apply: apply
// stays up, is not ready with Kafka named, and the figures say kafka; once
// the broker is back, apply is ready again within seconds and writes.
func TestKafkaOutageReadiness(t *testing.T) {
	k := testenv.NewRestartableKafka(t)
	p := newPipeline(t)
	p.kafka = &testenv.KafkaCluster{Brokers: k.Brokers, RegistryURL: k.RegistryURL, Registry: k.Registry}
	p.spec.Brokers, p.spec.Registry = k.Brokers, k.RegistryURL
	tgt := testenv.Target(t)
	p.spec.Target = tgt.URL("")
	t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE IF EXISTS `"+p.db+"`") })
	p.exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))")
	p.exec("INSERT INTO t VALUES (1, 'a')")
	p.startCapture()
	reg := prometheus.NewRegistry()
	spec := p.spec
	a, sink, err := spec.buildWith(slog.LevelWarn, apply.NewMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	runInBackground(t, "apply", a.Run)
	tdb := tgt.DB(t, "")
	waitRow(t, tdb, p.db, "t", 1, 60*time.Second)
	waitFor(t, 10*time.Second, "apply to be ready", func() bool { ok, _ := a.Ready(); return ok })

	k.Stop()
	waitFor(t, 30*time.Second, "apply to report Kafka failing", func() bool {
		ok, why := a.Ready()
		return !ok && strings.Contains(why, "kafka")
	})
	time.Sleep(3 * time.Second)
	if got := labeled(t, reg, "syncline_apply_last_error_class", "class", "kafka"); got != 1 {
		t.Errorf("last error class kafka = %v, want 1", got)
	}
	if got := gauge(t, reg, "syncline_apply_failing_seconds"); got < 2 {
		t.Errorf("failing for %.1f s into the outage", got)
	}
	if err := k.Start(); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	waitFor(t, 30*time.Second, "apply to be ready again", func() bool { ok, _ := a.Ready(); return ok })
	ready := time.Since(began)
	p.exec("INSERT INTO t VALUES (2, 'b')")
	waitRow(t, tdb, p.db, "t", 2, 60*time.Second)
	if ready > 10*time.Second {
		t.Errorf("ready %s after the broker came back", ready.Round(time.Millisecond))
	}
	t.Logf("ready %s after the broker came back; writing in %s", ready.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

// TestDuplicateInstanceIDStops starts a second apply with the instance id
// of a running one (two processes of a group on one host without ids of
// their own): the fenced one exits with status 3 naming --instance-id, the
// other keeps applying.
func TestDuplicateInstanceIDStops(t *testing.T) {
	p := newPipeline(t)
	tgt := testenv.Target(t)
	p.spec.Target = tgt.URL("")
	p.spec.InstanceID = "same-host"
	t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE IF EXISTS `"+p.db+"`") })
	p.exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))")
	p.exec("INSERT INTO t VALUES (1, 'a')")
	p.startCapture()
	tdb := tgt.DB(t, "")
	first := testenv.StartChild(t, p.spec)
	waitRow(t, tdb, p.db, "t", 1, 60*time.Second)
	second := testenv.StartChild(t, p.spec)
	var fenced, other *testenv.Child
	waitFor(t, 60*time.Second, "one of the two to exit", func() bool {
		switch {
		case first.Exited():
			fenced, other = first, second
		case second.Exited():
			fenced, other = second, first
		}
		return fenced != nil
	})
	if code := fenced.ExitCode(); code != 3 || !strings.Contains(fenced.Stderr(), "--instance-id") {
		t.Fatalf("the fenced apply exited with %d: %s", code, fenced.Stderr())
	}
	p.exec("INSERT INTO t VALUES (2, 'b')")
	waitRow(t, tdb, p.db, "t", 2, 60*time.Second)
	if other.Exited() {
		t.Fatalf("the other apply exited too: %s", other.Stderr())
	}
}
