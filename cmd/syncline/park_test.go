package main

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestTaskResyncParkedTable drops the key of a table a running task syncs
// to a MySQL target: capture parks it (status shows it) while another table
// keeps flowing to the target; its changes meanwhile do not reach the
// target. syncline task resync refuses it while it has no key, and once the
// key is back re-includes it: the target table ends up equal to the source
// (rows deleted while it was parked are gone) and later changes flow.
func TestTaskResyncParkedTable(t *testing.T) {
	e := newTaskEnv(t, `
- database: DB
`, `
DB:
  rename: TDB
`)
	e.src.Exec(t, "CREATE TABLE `"+e.db+"`.live (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
	e.src.Exec(t, "CREATE TABLE `"+e.db+"`.k (id INT PRIMARY KEY, v INT)")
	e.src.Exec(t, "INSERT INTO `"+e.db+"`.k SELECT seq, seq FROM `"+e.db+"`.seq_1_to_2000")
	capture, apply := e.start(t)
	defer capture.Stop()
	defer apply.Stop()

	// Inserts into live every 20 ms, all through the test.
	ctx, stopWrites := context.WithCancel(context.Background())
	var lastLive atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			res, err := e.srcDB.Exec("INSERT INTO live (v) VALUES (1)")
			if err != nil {
				t.Error(err)
				return
			}
			id, _ := res.LastInsertId()
			lastLive.Store(id)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	defer func() { stopWrites(); wg.Wait() }()
	liveFlows := func(what string) {
		t.Helper()
		waitUntil(t, 10*time.Second, "live's inserts to start", func() bool { return lastLive.Load() > 0 })
		id := lastLive.Load()
		waitUntil(t, 60*time.Second, "live's latest insert in the target "+what, func() bool {
			got := rows(e.tgtDB, "SELECT COUNT(*) FROM `"+e.tdb+"`.live WHERE id = "+strconv.FormatInt(id, 10))
			return slices.Equal(got, []string{"1"})
		})
	}
	kSrc := "SELECT id, v FROM k"
	kTgt := "SELECT id, v FROM `" + e.tdb + "`.k"
	waitUntil(t, 60*time.Second, "k in the target", func() bool { return slices.Equal(rows(e.tgtDB, kTgt), rows(e.srcDB, kSrc)) })
	liveFlows("before k is parked")

	// The key goes: k is parked; its changes stay out of the target.
	before := rows(e.tgtDB, kTgt)
	e.src.Exec(t, "ALTER TABLE `"+e.db+"`.k DROP PRIMARY KEY")
	e.src.Exec(t, "DELETE FROM `"+e.db+"`.k WHERE id <= 100")
	e.src.Exec(t, "UPDATE `"+e.db+"`.k SET v = -v WHERE id > 1900")
	e.src.Exec(t, "INSERT INTO `"+e.db+"`.k VALUES (5000, 5000)")
	waitUntil(t, 30*time.Second, "k parked in syncline status", func() bool {
		code, out, _ := runCLI(t, "status", "--config", e.spec, "--interval", "100ms")
		return code == 0 && strings.Contains(out, "PARKED: no primary key") && strings.Contains(out, "1 parked")
	})
	liveFlows("after k was parked")
	if got := rows(e.tgtDB, kTgt); !slices.Equal(got, before) {
		t.Fatalf("changes of the parked k reached the target (%d rows, %d before)", len(got), len(before))
	}

	// Refused while it has no key, with the fix.
	code, out, errOut := runCLI(t, "task", "resync", "--config", e.spec, e.db+".k")
	if code == 0 || !strings.Contains(errOut, "add one first") || !strings.Contains(errOut, "nothing was changed") {
		t.Fatalf("task resync of a table still without a key: exit %d\n%s%s", code, out, errOut)
	}

	// Fixed and resynced: the target equals the source again.
	e.src.Exec(t, "ALTER TABLE `"+e.db+"`.k ADD PRIMARY KEY (id)")
	code, out, errOut = runCLI(t, "task", "resync", "--config", e.spec, e.db+".k", e.db+".live")
	if code != 0 || !strings.Contains(out, "resync of "+e.db+".k requested") || !strings.Contains(out, e.db+".live is not parked") {
		t.Fatalf("task resync: exit %d\n%s%s", code, out, errOut)
	}
	waitUntil(t, 60*time.Second, "the resynced k equal to the source in the target", func() bool {
		return slices.Equal(rows(e.tgtDB, kTgt), rows(e.srcDB, kSrc))
	})
	e.src.Exec(t, "UPDATE `"+e.db+"`.k SET v = 7 WHERE id = 500")
	e.src.Exec(t, "DELETE FROM `"+e.db+"`.k WHERE id = 501")
	waitUntil(t, 30*time.Second, "k's later changes in the target", func() bool {
		return slices.Equal(rows(e.tgtDB, kTgt), rows(e.srcDB, kSrc))
	})
	liveFlows("after the resync")
	if _, out, _ := runCLI(t, "status", "--config", e.spec, "--interval", "100ms"); strings.Contains(out, "PARKED") {
		t.Errorf("status still shows a parked table after the resync:\n%s", out)
	}
	select {
	case code := <-capture.done:
		_, errOut := capture.Output()
		t.Fatalf("capture exited with %d:\n%s", code, errOut)
	default:
	}
}
