package capture_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syncline/syncline/testenv"
)

// rowState is what a consumer knows of one row after reading the topic.
type rowState struct {
	n       int64
	deleted bool
	version int64
}

// replay applies the events of one table topic in order and checks the
// per-key guarantees: every change exactly once, in order, with rising
// versions. Rows are (id, n) where every update increments n by one.
func replay(t *testing.T, evs []event) map[int64]*rowState {
	t.Helper()
	rows := map[int64]*rowState{}
	for _, ev := range evs {
		if ev.Tomb {
			continue
		}
		id := toInt(ev.Key["id"])
		cur := rows[id]
		if cur != nil && ev.Version <= cur.version {
			t.Fatalf("key %d: event %s at offset %d has version %d, not above %d", id, ev.Op, ev.Offset, ev.Version, cur.version)
		}
		switch ev.Op {
		case "r", "c":
			if cur != nil && !cur.deleted {
				t.Fatalf("key %d: %s at offset %d for a row that exists (n=%d): duplicate", id, ev.Op, ev.Offset, cur.n)
			}
			rows[id] = &rowState{n: toInt(ev.After["n"]), version: ev.Version}
		case "u":
			if cur == nil || cur.deleted {
				t.Fatalf("key %d: update at offset %d of a row never created", id, ev.Offset)
			}
			n := toInt(ev.After["n"])
			if before := toInt(ev.Before["n"]); before != cur.n || n != cur.n+1 {
				t.Fatalf("key %d: update at offset %d goes %d->%d but the row was at %d: a change is missing or doubled", id, ev.Offset, before, n, cur.n)
			}
			cur.n, cur.version = n, ev.Version
		case "d":
			if cur == nil || cur.deleted {
				t.Fatalf("key %d: delete at offset %d of a row never created", id, ev.Offset)
			}
			cur.deleted, cur.version = true, ev.Version
		default:
			t.Fatalf("unknown op %q", ev.Op)
		}
	}
	return rows
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int32:
		return int64(x)
	case int64:
		return x
	case int:
		return int64(x)
	}
	panic(fmt.Sprintf("not an integer: %T %v", v, v))
}

// sourceRows reads (id, n) of a table.
func sourceRows(t *testing.T, db *sql.DB, table string) map[int64]int64 {
	t.Helper()
	rs, err := db.Query("SELECT id, n FROM " + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	out := map[int64]int64{}
	for rs.Next() {
		var id, n int64
		if err := rs.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		out[id] = n
	}
	return out
}

// assertEqual checks that the replayed topic equals the source table.
func assertEqual(t *testing.T, got map[int64]*rowState, want map[int64]int64) {
	t.Helper()
	live := 0
	for id, r := range got {
		if r.deleted {
			if _, ok := want[id]; ok {
				t.Errorf("key %d deleted in the topic but present in the source", id)
			}
			continue
		}
		live++
		if w, ok := want[id]; !ok {
			t.Errorf("key %d in the topic (n=%d) but not in the source", id, r.n)
		} else if w != r.n {
			t.Errorf("key %d: topic says n=%d, source n=%d", id, r.n, w)
		}
	}
	if live != len(want) {
		t.Errorf("topic has %d live rows, source %d", live, len(want))
	}
}

// writeLoad runs random inserts, updates and deletes on table until ctx is
// done. Each update increments n by one.
func writeLoad(ctx context.Context, t *testing.T, db *sql.DB, table string, firstID int64, seed uint64) *sync.WaitGroup {
	var wg sync.WaitGroup
	var next atomic.Int64
	next.Store(firstID)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for ctx.Err() == nil {
				var err error
				switch x := rng.IntN(100); {
				case x == 0 && w == 0:
					// A large transaction: more rows than a Kafka
					// transaction holds, so capture splits it.
					from := 1 + rng.Int64N(max(next.Load()-2000, 1))
					_, err = db.Exec("UPDATE "+table+" SET n = n + 1 WHERE id BETWEEN ? AND ?", from, from+1500)
				case x < 30:
					_, err = db.Exec("INSERT INTO "+table+" (id, n) VALUES (?, 0)", next.Add(1))
				case x < 90:
					// A multi-row transaction of updates.
					tx, terr := db.Begin()
					if terr != nil {
						err = terr
						break
					}
					for range 1 + rng.IntN(4) {
						id := 1 + rng.Int64N(max(next.Load(), 1))
						if _, err = tx.Exec("UPDATE "+table+" SET n = n + 1 WHERE id = ?", id); err != nil {
							break
						}
					}
					if err == nil {
						err = tx.Commit()
					} else {
						_ = tx.Rollback()
					}
				default:
					_, err = db.Exec("DELETE FROM "+table+" WHERE id = ?", 1+rng.Int64N(max(next.Load(), 1)))
				}
				if err != nil && strings.Contains(err.Error(), "Deadlock found") {
					// The server rolled the transaction back: nothing
					// changed, so there is nothing to capture.
					continue
				}
				if err != nil && ctx.Err() == nil {
					t.Errorf("write load: %v", err)
					return
				}
			}
		}()
	}
	return &wg
}

func TestSnapshotThenStream(t *testing.T) {
	p := newPipeline(t)
	db := p.src.DB(t, p.db)
	mustExec(t, db, "CREATE TABLE items (id BIGINT PRIMARY KEY, n INT NOT NULL, note VARCHAR(20))")
	for i := 1; i <= 2500; i++ {
		mustExec(t, db, "INSERT INTO items (id, n) VALUES (?, 0)", i)
	}
	stop := p.start()
	topic := p.prefix + "." + p.db + ".items"
	waitFor(t, 60*time.Second, "snapshot of 2500 rows", func() bool { return len(p.readAll(topic)) >= 2500 })
	mustExec(t, db, "UPDATE items SET n = n + 1 WHERE id <= 10")
	mustExec(t, db, "DELETE FROM items WHERE id = 20")
	mustExec(t, db, "INSERT INTO items (id, n) VALUES (5000, 0)")
	mustExec(t, db, "UPDATE items SET id = 6000 WHERE id = 30")
	waitFor(t, 30*time.Second, "changes after the snapshot", func() bool { return len(p.readAll(topic)) >= 2500+10+2+1+3 })
	if err := stop(); err != nil {
		t.Fatalf("capture: %v", err)
	}
	evs := p.readAll(topic)
	ops := map[string]int{}
	for _, ev := range evs {
		if ev.Tomb {
			ops["tombstone"]++
		} else {
			ops[ev.Op]++
		}
	}
	want := map[string]int{"r": 2500, "u": 10, "d": 2, "c": 2, "tombstone": 2}
	for op, n := range want {
		if ops[op] != n {
			t.Errorf("%s events: got %d, want %d (all: %v)", op, ops[op], n, ops)
		}
	}
	for _, ev := range evs {
		if ev.Op == "r" && ev.Source["snapshot"] != "true" || ev.Op == "u" && ev.Source["snapshot"] != "false" {
			t.Fatalf("event %s has source.snapshot %v", ev.Op, ev.Source["snapshot"])
		}
	}
	assertEqual(t, replay(t, evs), sourceRows(t, db, "items"))
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestKilledCaptureDeliversExactlyOnce kills a real capture process at
// random moments, during the snapshot and while streaming, under a
// concurrent write load, and checks that a read_committed consumer sees
// every change exactly once and in order per key.
func TestKilledCaptureDeliversExactlyOnce(t *testing.T) {
	p := newPipeline(t)
	p.spec.ChunkRows = 300
	p.spec.BatchRows = 700
	db := p.src.DB(t, p.db)
	mustExec(t, db, "CREATE TABLE acct (id BIGINT PRIMARY KEY, n INT NOT NULL, pad VARCHAR(100))")
	const initial = 20000
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= initial; i++ {
		if _, err := tx.Exec("INSERT INTO acct (id, n, pad) VALUES (?, 0, REPEAT('x', 80))", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	load := writeLoad(ctx, t, db, "acct", initial, 42)

	rng := rand.New(rand.NewPCG(7, 7))
	kills := 0
	for kills < 22 {
		child := testenv.StartChild(t, p.spec)
		time.Sleep(time.Duration(150+rng.IntN(900)) * time.Millisecond)
		child.Kill()
		if s := child.Stderr(); strings.Contains(s, "capture:") {
			t.Fatalf("capture child failed: %s", s)
		}
		kills++
	}
	cancel()
	load.Wait()
	// A last run that is stopped cleanly once it has caught up.
	stop := p.start()
	want := sourceRows(t, db, "acct")
	topic := p.prefix + "." + p.db + ".acct"
	waitFor(t, 120*time.Second, "capture to catch up", func() bool {
		got := replayQuiet(p.readAll(topic))
		return len(got) == len(want) && sameRows(got, want)
	})
	if err := stop(); err != nil {
		t.Fatalf("capture: %v", err)
	}
	evs := p.readAll(topic)
	assertEqual(t, replay(t, evs), want)
	t.Logf("%d kills, %d events, %d rows in the source", kills, len(evs), len(want))
}

// replayQuiet replays without checks, for polling.
func replayQuiet(evs []event) map[int64]int64 {
	out := map[int64]int64{}
	for _, ev := range evs {
		if ev.Tomb {
			continue
		}
		id := toInt(ev.Key["id"])
		if ev.Op == "d" {
			delete(out, id)
		} else {
			out[id] = toInt(ev.After["n"])
		}
	}
	return out
}

func sameRows(a, b map[int64]int64) bool {
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}
