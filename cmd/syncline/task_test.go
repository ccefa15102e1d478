package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncline/syncline/testenv"
)

// taskEnv is a task spec file over the shared test servers.
type taskEnv struct {
	src, tgt *testenv.MySQL
	kafka    *testenv.KafkaCluster
	db, tdb  string // source database, and its name in the target
	spec     string // path of the spec file
	srcDB    *sql.DB
	tgtDB    *sql.DB
}

// newTaskEnv writes a task spec whose objects and target mapping are the
// YAML given (with DB and TDB standing for the source database and its
// target name).
func newTaskEnv(t *testing.T, objects, databases string) *taskEnv {
	t.Helper()
	e := &taskEnv{src: testenv.Source(t), tgt: testenv.Target(t), kafka: testenv.Kafka(t)}
	e.db = e.src.NewDatabase(t)
	e.tdb = e.db + "_t"
	t.Cleanup(func() { e.tgt.Exec(t, "DROP DATABASE IF EXISTS `"+e.tdb+"`") })
	e.srcDB = e.src.DB(t, e.db)
	e.tgtDB = e.tgt.DB(t, "")
	spec := fmt.Sprintf(`# a test task
name: %[1]s
source: %[2]q
brokers: [%[3]s]
registry: %[4]s
capture:
  flush-interval: 20ms
  heartbeat: 200ms
  chunk-rows: 500
objects:
%[5]s
targets:
  - name: mirror
    url: %[6]q
    group: %[1]s-mirror
    apply:
      flush-interval: 50ms
    databases:
%[7]s
`, "task_"+e.db, e.src.URL(""), e.kafka.Brokers[0], e.kafka.RegistryURL,
		indent(objects, "  "), e.tgt.URL(""), indent(databases, "      "))
	spec = strings.NewReplacer("TDB", e.tdb, "DB", e.db).Replace(spec)
	e.spec = filepath.Join(t.TempDir(), "task.yaml")
	if err := os.WriteFile(e.spec, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

func indent(s, by string) string {
	var b strings.Builder
	for line := range strings.Lines(strings.TrimSpace(s)) {
		b.WriteString(by + line)
	}
	return b.String()
}

// start runs capture and apply of the task in the background.
func (e *taskEnv) start(t *testing.T) (capture, apply *bgRun) {
	return background(t, "capture", "--config", e.spec), background(t, "apply", "--config", e.spec)
}

// rows returns a query's rows as strings, one per row, sorted; nil when
// the query fails (the table does not exist yet).
func rows(db *sql.DB, query string) []string {
	rs, err := db.Query(query)
	if err != nil {
		return nil
	}
	defer rs.Close()
	out := []string{}
	for rs.Next() {
		vals, err := testenv.ScanStrings(rs)
		if err != nil {
			return nil
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = "NULL"
			if v != nil {
				parts[i] = *v
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if rs.Err() != nil {
		return nil
	}
	slices.Sort(out)
	return out
}

// order is a row of the orders table of TestTaskMappingAndFilters.
type order struct {
	status string
	total  int // cents
	note   string
}

// inFilter is the task's row filter: status <> 'test' AND total >= 10.00.
func (o order) inFilter() bool { return o.status != "test" && o.total >= 1000 }

func (o order) String(id int) string {
	return fmt.Sprintf("%d|%s|%d.%02d|%s", id, o.status, o.total/100, o.total%100, o.note)
}

// TestTaskMappingAndFilters runs a task with two renamed tables, a
// renamed column, a dropped column, a row filter and deletes excluded,
// under a write load that moves rows in and out of the filter, and checks
// that the target holds exactly the rows the rules say.
func TestTaskMappingAndFilters(t *testing.T) {
	e := newTaskEnv(t, `
- database: DB
  tables: [orders]
  filter: "status <> 'test' AND total >= 10"
  operations: [insert, update, ddl]
- database: DB
  tables: [customers]
  drop-columns: [secret]
`, `
DB:
  rename: TDB
  tables:
    orders:
      rename: orders_v2
      rename-columns: {total: amount}
    customers:
      rename: clients
`)
	e.src.Exec(t, "CREATE TABLE `"+e.db+"`.orders (id INT PRIMARY KEY, status VARCHAR(10) NOT NULL, total DECIMAL(10,2) NOT NULL, note VARCHAR(20))")
	e.src.Exec(t, "CREATE TABLE `"+e.db+"`.customers (id INT PRIMARY KEY, name VARCHAR(20), secret VARCHAR(20))")

	const workers, keysPerWorker = 4, 50
	rng := rand.New(rand.NewPCG(1, 2))
	statuses := []string{"new", "paid", "test"}
	model := map[int]order{}  // the source
	target := map[int]order{} // what the target must hold
	for id := 1; id <= workers*keysPerWorker; id += 2 {
		o := order{statuses[rng.IntN(3)], rng.IntN(2000), "initial"}
		e.src.Exec(t, "INSERT INTO `"+e.db+"`.orders VALUES (?, ?, ?, ?)", id, o.status, fmt.Sprintf("%d.%02d", o.total/100, o.total%100), o.note)
		model[id] = o
		if o.inFilter() {
			target[id] = o
		}
		e.src.Exec(t, "INSERT INTO `"+e.db+"`.customers VALUES (?, ?, ?)", id, fmt.Sprintf("c%d", id), "s3cret")
	}
	capture, apply := e.start(t)
	defer capture.Stop()
	defer apply.Stop()
	ordersQ := "SELECT id, status, amount, note FROM `" + e.tdb + "`.orders_v2"
	want := func() []string {
		var out []string
		for id, o := range target {
			out = append(out, o.String(id))
		}
		slices.Sort(out)
		return out
	}
	waitUntil(t, 60*time.Second, "the snapshot in the target", func() bool { return slices.Equal(rows(e.tgtDB, ordersQ), want()) })

	// The load: each worker owns the keys id % workers == w, so the model
	// sees each key's changes in their source order.
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			conn := e.src.DB(t, e.db)
			for range 150 {
				id := 1 + w + workers*rng.IntN(keysPerWorker)
				mu.Lock()
				old, exists := model[id]
				mu.Unlock()
				next := order{statuses[rng.IntN(3)], rng.IntN(2000), fmt.Sprintf("n%d", rng.IntN(100))}
				total := fmt.Sprintf("%d.%02d", next.total/100, next.total%100)
				del := exists && rng.IntN(5) == 0
				var err error
				switch {
				case !exists:
					_, err = conn.Exec("INSERT INTO orders VALUES (?, ?, ?, ?)", id, next.status, total, next.note)
				case del:
					_, err = conn.Exec("DELETE FROM orders WHERE id = ?", id)
				default:
					_, err = conn.Exec("UPDATE orders SET status = ?, total = ?, note = ? WHERE id = ?", next.status, total, next.note, id)
				}
				if err == nil {
					_, err = conn.Exec("UPDATE customers SET name = ?, secret = 'x' WHERE id = ?", fmt.Sprintf("c%d-%d", id, rng.IntN(100)), id)
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				switch {
				case !exists: // an insert is synced when its row is in the filter
					model[id] = next
					if next.inFilter() {
						target[id] = next
					}
				case del: // deletes are not synced
					delete(model, id)
				default: // an update moves the row in or out of the filter
					model[id] = next
					switch in, out := old.inFilter(), next.inFilter(); {
					case out:
						target[id] = next
					case in:
						delete(target, id)
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	var wantOrders []string
	waitUntil(t, 60*time.Second, "the target to hold exactly the filtered rows", func() bool {
		wantOrders = want()
		return slices.Equal(rows(e.tgtDB, ordersQ), wantOrders)
	})
	clients := rows(e.tgtDB, "SELECT * FROM `"+e.tdb+"`.clients")
	customers := rows(e.srcDB, "SELECT id, name FROM customers")
	if !slices.Equal(clients, customers) {
		t.Fatalf("target clients (SELECT *, without the dropped secret column) differ from source customers:\n got %v\nwant %v", clients, customers)
	}
	if got := rows(e.tgtDB, "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '"+e.tdb+"' AND COLUMN_NAME IN ('secret', 'total')"); !slices.Equal(got, []string{"0"}) {
		t.Fatalf("the target has a dropped or renamed-away column: %v", got)
	}
	if len(wantOrders) == 0 || len(wantOrders) == len(model) {
		t.Fatalf("the load did not exercise the filter: %d target rows of %d source rows", len(wantOrders), len(model))
	}

	// verify compares through the task's rules and mapping: equal, although
	// the target has renamed tables and columns, fewer columns, filtered rows
	// and rows the source deleted.
	code, out, errOut := runCLI(t, "verify", "--config", e.spec, "--recheck-wait", "300ms")
	if code != 0 {
		t.Fatalf("verify --config: exit %d\n%s%s", code, out, errOut)
	}
	id, _, _ := strings.Cut(wantOrders[0], "|")
	e.tgt.Exec(t, "UPDATE `"+e.tdb+"`.orders_v2 SET note = 'tampered' WHERE id = "+id)
	code, out, errOut = runCLI(t, "verify", "--config", e.spec, "--recheck-attempts", "0")
	if code != 1 || !strings.Contains(out, "note") || !strings.Contains(out, e.tdb+".orders_v2") {
		t.Fatalf("verify --config after a change behind apply's back: exit %d, want 1 naming the column\n%s%s", code, out, errOut)
	}
}

// TestTaskAddRemoveTablesOnline adds a table to a running task under
// write load on it and on the task's other table, checks that the other
// table's changes keep arriving while the new one is backfilled and that
// the new one ends equal to the source, then removes a table and stops and
// resumes the task.
func TestTaskAddRemoveTablesOnline(t *testing.T) {
	e := newTaskEnv(t, `
- database: DB
  tables: [live]
`, `
DB:
  rename: TDB
`)
	e.src.Exec(t, "CREATE TABLE `"+e.db+"`.live (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
	e.src.Exec(t, "CREATE TABLE `"+e.db+"`.added (id INT PRIMARY KEY, v INT, pad VARCHAR(100))")
	const addedRows = 30000
	for from := 1; from <= addedRows; from += 5000 {
		e.src.Exec(t, "INSERT INTO `"+e.db+"`.added SELECT seq, seq, REPEAT('x', 100) FROM `"+e.db+"`.seq_"+fmt.Sprint(from)+"_to_"+fmt.Sprint(from+4999))
	}
	capture, apply := e.start(t)
	defer capture.Stop()
	defer apply.Stop()

	// A probe: one insert into live every 20 ms; a poller notes when each
	// reaches the target.
	ctx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	type probe struct{ sent, seen time.Time }
	var mu sync.Mutex
	probes := map[int64]*probe{}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			res, err := e.srcDB.Exec("INSERT INTO live (v) VALUES (1)")
			if err != nil {
				t.Error(err)
				return
			}
			id, _ := res.LastInsertId()
			mu.Lock()
			probes[id] = &probe{sent: time.Now()}
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			var maxID int64
			_ = e.tgtDB.QueryRow("SELECT COALESCE(MAX(id), 0) FROM `" + e.tdb + "`.live").Scan(&maxID)
			now := time.Now()
			mu.Lock()
			for id, p := range probes {
				if id <= maxID && p.seen.IsZero() {
					p.seen = now
				}
			}
			mu.Unlock()
			time.Sleep(10 * time.Millisecond)
		}
	}()
	// Writes on the table to add, before, during and after its backfill.
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(3, 4))
		for ctx.Err() == nil {
			id := 1 + rng.IntN(addedRows+1000)
			var err error
			if rng.IntN(4) == 0 {
				_, err = e.srcDB.Exec("DELETE FROM added WHERE id = ?", id)
			} else {
				_, err = e.srcDB.Exec("INSERT INTO added (id, v) VALUES (?, 1) ON DUPLICATE KEY UPDATE v = v + 1", id)
			}
			if err != nil {
				t.Error(err)
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	liveQ := "SELECT COUNT(*) FROM `" + e.tdb + "`.live"
	waitUntil(t, 60*time.Second, "live in the target", func() bool { return len(rows(e.tgtDB, liveQ)) == 1 && rows(e.tgtDB, liveQ)[0] != "0" })
	steady := time.Now()
	time.Sleep(2 * time.Second) // a baseline of probe delays

	addedAt := time.Now()
	if code, out, errOut := runCLI(t, "task", "add-tables", "--config", e.spec, e.db+".added"); code != 0 || !strings.Contains(out, "revision 2") {
		t.Fatalf("task add-tables: exit %d\n%s%s", code, out, errOut)
	}
	addedQ := "SELECT id, v, pad FROM `" + e.tdb + "`.added"
	waitUntil(t, 90*time.Second, "the added table backfilled", func() bool {
		return len(rows(e.tgtDB, addedQ)) >= addedRows*3/4
	})
	backfilled := time.Now()
	time.Sleep(time.Second)
	stopLoad()
	wg.Wait()
	waitUntil(t, 60*time.Second, "the added table equal to the source", func() bool {
		return slices.Equal(rows(e.tgtDB, addedQ), rows(e.srcDB, "SELECT id, v, pad FROM added"))
	})

	// The probe's delays before and during the backfill.
	var before, during time.Duration
	mu.Lock()
	for _, p := range probes {
		if p.seen.IsZero() {
			continue
		}
		d := p.seen.Sub(p.sent)
		switch {
		case p.sent.Before(steady):
		case p.sent.Before(addedAt):
			before = max(before, d)
		case p.sent.Before(backfilled):
			during = max(during, d)
		}
	}
	mu.Unlock()
	t.Logf("live table's max delay: %s before the backfill, %s during it (backfill of %d rows took %s)", before, during, addedRows, backfilled.Sub(addedAt))
	if during > 5*time.Second {
		t.Errorf("the live table's changes waited up to %s during the backfill of the added table", during)
	}
	waitUntil(t, 30*time.Second, "every probe in the target", func() bool {
		return slices.Equal(rows(e.tgtDB, "SELECT id, v FROM `"+e.tdb+"`.live"), rows(e.srcDB, "SELECT id, v FROM live"))
	})

	// Remove live: its changes stop at the target; added goes on.
	if code, out, errOut := runCLI(t, "task", "remove-tables", "--config", e.spec, e.db+".live"); code != 0 || !strings.Contains(out, "revision 3") {
		t.Fatalf("task remove-tables: exit %d\n%s%s", code, out, errOut)
	}
	time.Sleep(time.Second)
	liveBefore := rows(e.tgtDB, "SELECT id, v FROM `"+e.tdb+"`.live")
	e.src.Exec(t, "UPDATE `"+e.db+"`.live SET v = 2")
	e.src.Exec(t, "UPDATE `"+e.db+"`.added SET v = -1 WHERE id = 1")
	waitUntil(t, 30*time.Second, "a later change of added", func() bool {
		return slices.Equal(rows(e.tgtDB, "SELECT v FROM `"+e.tdb+"`.added WHERE id = 1"), []string{"-1"})
	})
	if got := rows(e.tgtDB, "SELECT id, v FROM `"+e.tdb+"`.live"); !slices.Equal(got, liveBefore) {
		t.Fatalf("a removed table's changes reached the target")
	}
	if code, out, _ := runCLI(t, "task", "show", "--config", e.spec); code != 0 || !strings.Contains(out, "revision 3") || !strings.Contains(out, "added") {
		t.Fatalf("task show: exit %d\n%s", code, out)
	}

	// Stop: both exit by themselves, with everything written.
	e.src.Exec(t, "INSERT INTO `"+e.db+"`.added (id, v) VALUES (1000001, 7)")
	if code, out, errOut := runCLI(t, "task", "stop", "--config", e.spec); code != 0 {
		t.Fatalf("task stop: exit %d\n%s%s", code, out, errOut)
	}
	for name, r := range map[string]*bgRun{"capture": capture, "apply": apply} {
		select {
		case code := <-r.done:
			r.once.Do(func() { r.code = code })
			if code != 0 {
				_, errOut := r.Output()
				t.Fatalf("%s exited with %d after task stop:\n%s", name, code, errOut)
			}
		case <-time.After(90 * time.Second):
			_, errOut := r.Output()
			t.Fatalf("%s did not stop within 90s of task stop:\n%s", name, errOut)
		}
	}
	if got := rows(e.tgtDB, "SELECT v FROM `"+e.tdb+"`.added WHERE id = 1000001"); !slices.Equal(got, []string{"7"}) {
		t.Fatalf("apply stopped before draining: the last insert before the stop is not in the target (%v)", got)
	}

	// Resume: changes made while stopped arrive, and added is not
	// snapshotted again (its rows are not read twice).
	e.src.Exec(t, "UPDATE `"+e.db+"`.added SET v = 8 WHERE id = 1000001")
	capture, apply = e.start(t)
	defer capture.Stop()
	defer apply.Stop()
	waitUntil(t, 60*time.Second, "the change made while stopped", func() bool {
		return slices.Equal(rows(e.tgtDB, "SELECT v FROM `"+e.tdb+"`.added WHERE id = 1000001"), []string{"8"})
	})
	if _, errOut := capture.Output(); strings.Contains(errOut, "snapshot of table done") {
		t.Fatalf("the resumed capture snapshotted again:\n%s", errOut)
	}
}

// TestTaskSpecErrors checks that bad specs are refused with the field's
// path, before anything runs.
func TestTaskSpecErrors(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	src.Exec(t, "CREATE TABLE `"+db+"`.t (id INT PRIMARY KEY, v INT)")
	k := testenv.Kafka(t)
	base := fmt.Sprintf("name: bad_%s\nsource: %q\nbrokers: [%s]\nregistry: %s\n", db, src.URL(""), k.Brokers[0], k.RegistryURL)
	for _, tc := range []struct {
		name, spec, want string
		code             int
	}{
		{"unknown field", "objects:\n  - database: " + db + "\n    filtr: \"v > 1\"\n", "objects[0].filtr: unknown key", exitUsage},
		{"unknown target field", "objects:\n  - database: " + db + "\ntargets:\n  - name: a\n    url: mysql://x@h/\n    group: g\n    databases:\n      " + db + ":\n        tables:\n          t:\n            renam: u\n", "targets[0].databases." + db + ".tables.t.renam: unknown key", exitUsage},
		{"bad pattern", "objects:\n  - database: " + db + "\n    tables: [\"t[\"]\n", "objects[0].tables[0]", exitUsage},
		{"bad filter", "objects:\n  - database: " + db + "\n    filter: \"v >\"\n", "objects[0].filter", exitUsage},
		{"bad capture flag", "capture:\n  chunk-rowz: 5\nobjects:\n  - database: " + db + "\n", "capture.chunk-rowz: unknown key", exitUsage},
		{"filter on a missing column", "objects:\n  - database: " + db + "\n    filter: \"nope = 1\"\n", "objects[0].filter", exitPermanent},
		{"missing drop column", "objects:\n  - database: " + db + "\n    drop-columns: [nope]\n", "objects[0].drop-columns", exitPermanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "task.yaml", base+tc.spec)
			code, _, stderr := runCLI(t, "capture", "--config", path)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, want %d with %q in:\n%s", code, tc.code, tc.want, stderr)
			}
		})
	}
}

// TestTaskPrecheck runs precheck from a task spec: the objects select the
// tables, and every target of the spec is checked.
func TestTaskPrecheck(t *testing.T) {
	e := newTaskEnv(t, `
- database: DB
  tables: [orders]
  filter: "v > 0"
`, `
DB:
  rename: TDB
`)
	e.src.Exec(t, "CREATE TABLE `"+e.db+"`.orders (id INT PRIMARY KEY, v INT)")
	e.src.Exec(t, "CREATE TABLE `"+e.db+"`.other (v INT)") // keyless, but not selected
	code, out, errOut := runCLI(t, "precheck", "--config", e.spec)
	if code != 0 || !strings.Contains(out, e.db+".orders") || strings.Contains(out, e.db+".other") || !strings.Contains(out, "target") {
		t.Fatalf("precheck --config: exit %d\n%s%s", code, out, errOut)
	}
	e.src.Exec(t, "DROP TABLE `"+e.db+"`.orders")
	if code, out, errOut := runCLI(t, "precheck", "--config", e.spec); code != 1 || !strings.Contains(out, "select no table") {
		t.Fatalf("precheck --config with the objects' table gone: exit %d, want 1\n%s%s", code, out, errOut)
	}
}
