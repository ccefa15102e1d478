package capture_test

import (
	"errors"
	"reflect"
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

// TestUnparsedDDL stops capture at a statement the parser cannot read,
// with an error naming it and the flag that skips it, and continues past
// it with that flag.
func TestUnparsedDDL(t *testing.T) {
	p := newPipeline(t)
	db := p.src.DB(t, p.db)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)")
	stop := p.start()
	waitFor(t, 30*time.Second, "capture to start", func() bool { return p.checkpoint() != nil })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "INSERT INTO t VALUES (1)")
	mustExec(t, db, "ALTER TABLE t ADD COLUMN c INT DEFAULT (1+1)")
	mustExec(t, db, "INSERT INTO t VALUES (2, 22)")

	err := p.runOnce(30 * time.Second)
	if !errors.Is(err, capture.ErrUnparsedDDL) || !fault.IsPermanent(err) || !strings.Contains(err.Error(), "DEFAULT (1+1)") || !strings.Contains(err.Error(), "--skip-ddl-at") {
		t.Fatalf("got %v, want a permanent ErrUnparsedDDL naming the statement and --skip-ddl-at", err)
	}
	at := err.Error()[strings.LastIndex(err.Error(), " ")+1:]
	evs := p.captureUntil(p.prefix+"."+p.db+".t", 2, func(c *capture.Config) { c.SkipDDLAt = at })
	if got := norm(evs[1].After["c"]); !reflect.DeepEqual(got, int64(22)) {
		t.Fatalf("row after the skipped DDL: c = %v", got)
	}
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
