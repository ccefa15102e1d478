package apply_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/syncline/syncline/testenv"
)

// mysqlCompare returns a comparison of a source table with the target's.
func mysqlCompare(t *testing.T, p *pipeline, tgt *testenv.MySQL) func(table string) string {
	tdb := tgt.DB(t, "")
	return func(table string) string {
		q := "`" + p.db + "`.`" + table + "`"
		want, err := dumpMySQL(p.srcDB, q)
		if err != nil {
			return "source: " + err.Error()
		}
		got, err := dumpMySQL(tdb, q)
		if err != nil {
			return "target: " + err.Error()
		}
		return diff(want, got)
	}
}

// TestEndToEndMySQL runs source -> capture -> Kafka -> apply -> MariaDB
// under a concurrent write load with inserts, updates, deletes and
// primary-key changes.
func TestEndToEndMySQL(t *testing.T) {
	p := newPipeline(t)
	tgt := testenv.Target(t)
	p.spec.Target = tgt.URL("")
	t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE IF EXISTS `"+p.db+"`") })
	p.createLoadTables()
	p.startCapture()
	p.startApply()

	ctx, cancel := context.WithCancel(context.Background())
	l := startLoad(ctx, t, p.srcDB, 4, 1)
	time.Sleep(5 * time.Second)
	cancel()
	ops := l.wait(t)
	began := time.Now()
	waitEqual(t, 60*time.Second, []string{"orders", "items"}, mysqlCompare(t, p, tgt))
	t.Logf("%d source transactions; target equal %s after the load stopped", ops, time.Since(began).Round(time.Millisecond))
}

// TestKilledApplyEndsEqual kills apply (a child process) with SIGKILL at
// random points, 22 times, and restarts the target server once while apply
// runs, all under a concurrent write load; the target must end equal to
// the source.
func TestKilledApplyEndsEqual(t *testing.T) {
	p := newPipeline(t)
	tgt := testenv.StartMariaDB(t, testenv.MariaDBOptions{NoBinlog: true, ServerID: 5})
	p.spec.Target = tgt.URL("")
	p.spec.BatchRows = 500
	p.spec.InstanceID = "killed"
	p.createLoadTables()
	p.startCapture()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := startLoad(ctx, t, p.srcDB, 4, 2)

	rng := rand.New(rand.NewPCG(3, 3))
	const kills = 22
	for i := range kills {
		child := testenv.StartChild(t, p.spec)
		if i == kills/2 {
			// The target goes away while apply writes, and comes back.
			time.Sleep(700 * time.Millisecond)
			if err := tgt.Stop(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Second)
			if err := tgt.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
		}
		time.Sleep(time.Duration(100+rng.IntN(1400)) * time.Millisecond)
		child.Kill()
		if s := child.Stderr(); strings.Contains(s, "apply:") {
			t.Fatalf("apply child %d failed: %s", i, s)
		}
	}
	cancel()
	ops := l.wait(t)
	var before int
	_ = tgt.DB(t, "").QueryRow("SELECT COUNT(*) FROM `" + p.db + "`.items").Scan(&before)
	t.Logf("target holds %d item rows when the killing stops", before)
	p.startApply()
	began := time.Now()
	waitEqual(t, 120*time.Second, []string{"orders", "items"}, mysqlCompare(t, p, tgt))
	t.Logf("%d kills, %d source transactions; target equal %s after the last start", kills, ops, time.Since(began).Round(time.Millisecond))
}
