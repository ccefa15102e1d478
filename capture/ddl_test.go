package capture_test

import (
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/fault"
)

// TestRowsKeepTheirShapeAcrossDDL writes rows between ADD COLUMN ... AFTER,
// DROP COLUMN and MODIFY COLUMN while capture is stopped, so it reads them
// after the live table has changed: each row must still decode with the
// columns it had when it was written.
func TestRowsKeepTheirShapeAcrossDDL(t *testing.T) {
	p := newPipeline(t)
	db := p.src.DB(t, p.db)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10), b INT)")
	mustExec(t, db, "INSERT INTO t VALUES (1, 'a1', 1)")
	topic := p.prefix + "." + p.db + ".t"
	p.captureUntil(topic, 1, noEdit)
	mustExec(t, db, "INSERT INTO t VALUES (2, 'a2', 2)")
	mustExec(t, db, "ALTER TABLE t ADD COLUMN x INT NOT NULL DEFAULT 7 AFTER id")
	mustExec(t, db, "INSERT INTO t VALUES (3, 30, 'a3', 3)")
	mustExec(t, db, "UPDATE t SET a = 'a2b' WHERE id = 2")
	mustExec(t, db, "ALTER TABLE t DROP COLUMN b")
	mustExec(t, db, "INSERT INTO t VALUES (4, 40, 'a4')")
	mustExec(t, db, "ALTER TABLE t MODIFY COLUMN a VARCHAR(50)")
	mustExec(t, db, "INSERT INTO t VALUES (5, 50, 'a5 is longer than ten')")

	evs := p.captureUntil(topic, 6, noEdit)
	want := []struct {
		op     string
		id     int64
		fields string
	}{
		{"r", 1, "a,b,id"},
		{"c", 2, "a,b,id"},
		{"c", 3, "a,b,id,x"},
		{"u", 2, "a,b,id,x"},
		{"c", 4, "a,id,x"},
		{"c", 5, "a,id,x"},
	}
	for i, w := range want {
		ev := evs[i]
		if ev.Op != w.op || toInt(ev.After["id"]) != w.id || fieldList(ev.After) != w.fields {
			t.Errorf("event %d: got %s id=%v fields %s, want %s id=%d fields %s", i, ev.Op, ev.After["id"], fieldList(ev.After), w.op, w.id, w.fields)
		}
	}
	if got := norm(evs[3].After["a"]); got != "a2b" {
		t.Errorf("update after ADD COLUMN: a = %v", got)
	}
	if got := norm(evs[2].After["x"]); got != int64(30) {
		t.Errorf("row 3: x = %v, want 30 (a shifted column?)", got)
	}
	if got := norm(evs[5].After["a"]); got != "a5 is longer than ten" {
		t.Errorf("row 5: a = %v", got)
	}
	if evs[4].SchemaID == evs[5].SchemaID {
		t.Errorf("MODIFY COLUMN a VARCHAR(50) registered no new schema (both rows use id %d)", evs[4].SchemaID)
	}

	ddl := p.readSchemaChanges()
	var kinds []string
	for _, d := range ddl {
		kinds = append(kinds, d["kind"].(string))
	}
	if strings.Join(kinds, ",") != "alter_table,alter_table,alter_table" {
		t.Fatalf("schema changes: %v", kinds)
	}
	if !strings.Contains(ddl[0]["ddl"].(string), "ADD COLUMN x") || norm(ddl[0]["table"]) != "t" {
		t.Errorf("first schema change: %v", ddl[0])
	}
}

func fieldList(m map[string]any) string {
	var names []string
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// TestSkipDDLAt stops capture at statements on a captured table that move
// rows without row events, naming the table, the position and the flag;
// each skip commits the position after it, so a list of positions passes
// statements in a row and a restart without the flag never meets them
// again.
func TestSkipDDLAt(t *testing.T) {
	p := newPipeline(t)
	db := p.src.DB(t, p.db)
	other := p.src.NewDatabase(t)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, v INT) PARTITION BY RANGE (id) "+
		"(PARTITION p0 VALUES LESS THAN (10), PARTITION p1 VALUES LESS THAN (20), PARTITION p2 VALUES LESS THAN (30))")
	mustExec(t, db, "INSERT INTO t VALUES (1, 1), (11, 11), (21, 21)")
	mustExec(t, db, "CREATE TABLE `"+other+"`.swap (id INT PRIMARY KEY, v INT)")
	mustExec(t, db, "INSERT INTO `"+other+"`.swap VALUES (5, 5)")
	mustExec(t, db, "CREATE TABLE `"+other+"`.incoming (id INT PRIMARY KEY, v INT)")
	mustExec(t, db, "INSERT INTO `"+other+"`.incoming VALUES (35, 35)")
	topic := p.prefix + "." + p.db + ".t"
	p.captureUntil(topic, 3, noEdit)

	file, from := binlogPosition(t, db)
	// Partition archiving: each moves rows in or out of t with no row
	// events, which capture cannot express.
	stmts := []string{
		"ALTER TABLE `" + p.db + "`.t EXCHANGE PARTITION p0 WITH TABLE `" + other + "`.swap",
		"ALTER TABLE `" + p.db + "`.t CONVERT PARTITION p1 TO TABLE `" + other + "`.archived",
		"ALTER TABLE `" + p.db + "`.t CONVERT TABLE `" + other + "`.incoming TO PARTITION p3 VALUES LESS THAN (40)",
	}
	for _, q := range stmts {
		mustExec(t, db, q)
	}
	mustExec(t, db, "INSERT INTO t VALUES (22, 22)")
	at := queryPositions(t, db, file, from, stmts)

	stopsAt := func(skip []string, want int) {
		t.Helper()
		err := p.runOnce(30*time.Second, func(c *capture.Config) { c.SkipDDLAt = skip })
		msg := fmt.Sprint(err)
		if !errors.Is(err, capture.ErrUnparsedDDL) || !fault.IsPermanent(err) || !strings.Contains(msg, p.db+".t") ||
			!strings.HasSuffix(msg, "--skip-ddl-at "+at[want]+" (the targets then miss what it changed)") {
			t.Fatalf("with --skip-ddl-at %v: got %v, want a permanent ErrUnparsedDDL naming %s.t and --skip-ddl-at %s", skip, err, p.db, at[want])
		}
	}
	stopsAt(nil, 0)
	// Skipping the first commits past it: the next run, told only of the
	// second and third, must not meet the first again.
	stopsAt([]string{at[0]}, 1)
	evs := p.captureUntil(topic, 4, func(c *capture.Config) { c.SkipDDLAt = []string{at[1], at[2]} })
	if last := evs[len(evs)-1]; last.Op != "c" || toInt(last.After["id"]) != 22 {
		t.Fatalf("after the skipped statements: got %s id=%v, want the insert of 22", last.Op, last.After["id"])
	}
	mustExec(t, db, "INSERT INTO t VALUES (23, 23)")
	evs = p.captureUntil(topic, 5, noEdit)
	if last := evs[len(evs)-1]; last.Op != "c" || toInt(last.After["id"]) != 23 {
		t.Fatalf("after a restart without the flag: got %s id=%v, want the insert of 23", last.Op, last.After["id"])
	}
}

// binlogPosition returns the source's current binlog file and position.
func binlogPosition(t *testing.T, db *sql.DB) (string, uint32) {
	t.Helper()
	rows, err := db.Query("SHOW MASTER STATUS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	var file string
	var pos uint32
	vals[0], vals[1] = &file, &pos
	for i := 2; i < len(cols); i++ {
		vals[i] = new(sql.RawBytes)
	}
	if !rows.Next() {
		t.Fatal("SHOW MASTER STATUS: no row")
	}
	if err := rows.Scan(vals...); err != nil {
		t.Fatal(err)
	}
	return file, pos
}

// queryPositions returns the binlog positions (file:pos, as capture names
// them) of the query events of stmts, logged in file after from.
func queryPositions(t *testing.T, db *sql.DB, file string, from uint32, stmts []string) []string {
	t.Helper()
	rows, err := db.Query(fmt.Sprintf("SHOW BINLOG EVENTS IN '%s' FROM %d", file, from))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	found := map[string]string{}
	for rows.Next() {
		var name, typ, info string
		var pos, serverID, end uint64
		if err := rows.Scan(&name, &pos, &typ, &serverID, &end, &info); err != nil {
			t.Fatal(err)
		}
		if typ == "Query" {
			// Info starts with "use `db`; " when the session had one.
			if _, q, ok := strings.Cut(info, "; "); ok && strings.HasPrefix(info, "use ") {
				info = q
			}
			found[info] = fmt.Sprintf("%s:%d", name, pos)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, q := range stmts {
		at, ok := found[q]
		if !ok {
			t.Fatalf("%s: not in the binlog after %s:%d", q, file, from)
		}
		out = append(out, at)
	}
	return out
}

// TestUndecodableColumn stops capture with a named error, not a retry
// loop, when the binlog holds a column type go-mysql cannot decode.
func TestUndecodableColumn(t *testing.T) {
	p := newPipeline(t)
	db := p.src.DB(t, p.db)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, c BLOB COMPRESSED)")
	stop := p.start()
	waitFor(t, 30*time.Second, "capture to start", func() bool { return p.checkpoint() != nil })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "INSERT INTO t VALUES (1, 'secret-value')")
	err := p.runOnce(30 * time.Second)
	if err == nil || !strings.Contains(err.Error(), "--exclude-tables") || strings.Contains(err.Error(), "secret-value") {
		t.Fatalf("got %v, want an error naming --exclude-tables without the row's data", err)
	}
}
