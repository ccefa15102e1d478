// Package sinktest is the contract every apply.Sink must meet, as a test
// suite that runs against a real target: creating tables, batched upserts
// and deletes, the version guard against old and replayed changes, large
// batches, schema evolution, the existing-tables policy and the schema
// changes a row shape cannot show. internal/target/mysql, postgres and
// clickhouse run it from their tests:
//
//	func TestContract(t *testing.T) { sinktest.Run(t, newTarget) }
package sinktest

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/schema"
)

// Target is one target under test.
type Target struct {
	// Sink is the sink to test; Run closes it.
	Sink apply.Sink
	// Database is the (source) database name the tests use; Sinks map it
	// to a database or schema of their own. It must be fresh.
	Database string
	// Rows returns the values of cols of every row of db.table ordered by
	// the first column, as text in the target's usual form (nil for NULL).
	// Integers and plain strings must print as Go's strconv does.
	Rows func(t *testing.T, db, table string, cols ...string) [][]*string
	// CreateUserTable creates db.table (id INT PRIMARY KEY, v VARCHAR(20))
	// as a user would, without the version column, holding the row (1, 'user').
	CreateUserTable func(t *testing.T, db, table string)
	// Columns returns the column names of db.table in order, version column
	// included.
	Columns func(t *testing.T, db, table string) []string
}

// Run runs the contract. newTarget is called once per subtest.
func Run(t *testing.T, newTarget func(t *testing.T) Target) {
	tests := []struct {
		name string
		f    func(t *testing.T, tg Target)
	}{
		{"UpsertDelete", testUpsertDelete},
		{"VersionGuard", testVersionGuard},
		{"LargeBatch", testLargeBatch},
		{"WideTable", testWideTable},
		{"MissingColumns", testMissingColumns},
		{"Evolve", testEvolve},
		{"ExistingTables", testExistingTables},
		{"Truncate", testTruncate},
		{"DropTable", testDropTable},
		{"RenameTable", testRenameTable},
		{"RenameColumn", testRenameColumn},
		{"Quoting", testQuoting},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := newTarget(t)
			t.Cleanup(func() { _ = tg.Sink.Close() })
			tc.f(t, tg)
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func mustType(t *testing.T, s string) schema.Type {
	t.Helper()
	typ, err := schema.ParseType(s)
	if err != nil {
		t.Fatal(err)
	}
	return typ
}

// kv is the table (id INT PRIMARY KEY, v VARCHAR(20) NULL).
func kv(t *testing.T, db, name string) schema.Table {
	return schema.Table{Database: db, Name: name, Key: []string{"id"}, Columns: []schema.Column{
		{Name: "id", Type: mustType(t, "int")},
		{Name: "v", Type: mustType(t, "varchar(20)"), Nullable: true},
	}}
}

func up(id int32, v any, version int64) apply.Change {
	return apply.Change{Op: apply.Upsert, Row: map[string]any{"id": id, "v": v}, Version: version, SourceTS: time.Now()}
}

func del(id int32, version int64) apply.Change {
	return apply.Change{Op: apply.Delete, Row: map[string]any{"id": id, "v": "ignored"}, Version: version}
}

func prepare(t *testing.T, tg Target, tab schema.Table) {
	t.Helper()
	if err := tg.Sink.Prepare(ctx(t), tab, apply.PrepareOptions{Existing: apply.ExistingFail, DropColumns: true}); err != nil {
		t.Fatalf("prepare %s: %v", tab.Name, err)
	}
}

func write(t *testing.T, tg Target, tab schema.Table, changes ...apply.Change) {
	t.Helper()
	if err := tg.Sink.Write(ctx(t), tab, changes); err != nil {
		t.Fatalf("write %s: %v", tab.Name, err)
	}
}

// dump renders rows as "a|b;c|d" with NULL as \N.
func dump(rows [][]*string) string {
	var b strings.Builder
	for i, r := range rows {
		if i > 0 {
			b.WriteByte(';')
		}
		for j, v := range r {
			if j > 0 {
				b.WriteByte('|')
			}
			if v == nil {
				b.WriteString(`\N`)
			} else {
				b.WriteString(*v)
			}
		}
	}
	return b.String()
}

func expect(t *testing.T, tg Target, tab schema.Table, want string, cols ...string) {
	t.Helper()
	if len(cols) == 0 {
		for _, c := range tab.Columns {
			cols = append(cols, c.Name)
		}
	}
	got := dump(tg.Rows(t, tab.Database, tab.Name, cols...))
	if got != want {
		t.Fatalf("%s.%s:\n got %s\nwant %s", tab.Database, tab.Name, got, want)
	}
}

func testUpsertDelete(t *testing.T, tg Target) {
	tab := kv(t, tg.Database, "kv")
	prepare(t, tg, tab)
	prepare(t, tg, tab) // idempotent
	write(t, tg, tab, up(1, "a", 10), up(2, "b", 11), up(3, nil, 12))
	expect(t, tg, tab, `1|a;2|b;3|\N`)
	write(t, tg, tab, up(2, "b2", 20), del(3, 21), up(4, "d", 22))
	expect(t, tg, tab, `1|a;2|b2;4|d`)
	expect(t, tg, tab, "1|10;2|20;4|22", "id", apply.VersionColumn)
	// An empty batch is fine.
	write(t, tg, tab)
}

func testVersionGuard(t *testing.T, tg Target) {
	tab := kv(t, tg.Database, "guard")
	prepare(t, tg, tab)
	write(t, tg, tab, up(1, "new", 100), up(2, "new", 100), up(3, "keep", 100))
	// Older changes arriving late lose: an update, a delete.
	write(t, tg, tab, up(1, "old", 50), del(2, 60))
	expect(t, tg, tab, "1|new;2|new;3|keep")
	// The same change again (a replay) changes nothing; a newer one wins.
	write(t, tg, tab, up(1, "new", 100), up(3, "newer", 101))
	expect(t, tg, tab, "1|new;2|new;3|newer")
	// A delete as new as the row removes it; an older insert of a missing
	// key is written (deletes leave no trace).
	write(t, tg, tab, del(1, 100), del(3, 200))
	expect(t, tg, tab, "2|new")
	write(t, tg, tab, up(3, "again", 300))
	expect(t, tg, tab, "2|new;3|again")
	expect(t, tg, tab, "2|100;3|300", "id", apply.VersionColumn)
}

func testLargeBatch(t *testing.T, tg Target) {
	tab := kv(t, tg.Database, "large")
	prepare(t, tg, tab)
	const n = 25000
	changes := make([]apply.Change, 0, n)
	for i := range int32(n) {
		changes = append(changes, up(i, "v"+strconv.Itoa(int(i)), int64(i)+1))
	}
	began := time.Now()
	write(t, tg, tab, changes...)
	t.Logf("%d upserts in one batch: %s", n, time.Since(began).Round(time.Millisecond))
	changes = changes[:0]
	for i := int32(0); i < n; i += 2 {
		changes = append(changes, del(i, n+10))
	}
	began = time.Now()
	write(t, tg, tab, changes...)
	t.Logf("%d deletes in one batch: %s", len(changes), time.Since(began).Round(time.Millisecond))
	rows := tg.Rows(t, tab.Database, tab.Name, "id", "v")
	if len(rows) != n/2 {
		t.Fatalf("%d rows, want %d", len(rows), n/2)
	}
	for i, r := range rows {
		id := 2*i + 1
		if *r[0] != strconv.Itoa(id) || *r[1] != "v"+strconv.Itoa(id) {
			t.Fatalf("row %d is %s|%s", i, *r[0], *r[1])
		}
	}
}

// testWideTable writes a batch needing more than 65535 placeholders.
func testWideTable(t *testing.T, tg Target) {
	tab := schema.Table{Database: tg.Database, Name: "wide", Key: []string{"id"}}
	tab.Columns = append(tab.Columns, schema.Column{Name: "id", Type: mustType(t, "int")})
	for i := range 150 {
		tab.Columns = append(tab.Columns, schema.Column{Name: fmt.Sprintf("c%03d", i), Type: mustType(t, "bigint"), Nullable: true})
	}
	prepare(t, tg, tab)
	const n = 1000
	changes := make([]apply.Change, n)
	for i := range n {
		row := map[string]any{"id": int32(i)}
		for j := range 150 {
			row[fmt.Sprintf("c%03d", j)] = int64(i * j)
		}
		changes[i] = apply.Change{Op: apply.Upsert, Row: row, Version: 1}
	}
	write(t, tg, tab, changes...)
	rows := tg.Rows(t, tab.Database, tab.Name, "id", "c149")
	if len(rows) != n || *rows[n-1][1] != strconv.Itoa((n-1)*149) {
		t.Fatalf("got %d rows, last %s", len(rows), dump(rows[len(rows)-1:]))
	}
}

// testMissingColumns writes rows that lack columns (written before the
// columns existed): on insert they get the default, on update they keep
// their value.
func testMissingColumns(t *testing.T, tg Target) {
	tab := kv(t, tg.Database, "missing")
	tab.Columns = append(tab.Columns, schema.Column{Name: "n", Type: mustType(t, "int"), Nullable: true})
	prepare(t, tg, tab)
	write(t, tg, tab, apply.Change{Op: apply.Upsert, Row: map[string]any{"id": int32(1), "v": "a", "n": int32(7)}, Version: 1})
	write(t, tg, tab,
		apply.Change{Op: apply.Upsert, Row: map[string]any{"id": int32(1), "v": "b"}, Version: 2},
		apply.Change{Op: apply.Upsert, Row: map[string]any{"id": int32(2), "v": "c"}, Version: 2},
		apply.Change{Op: apply.Upsert, Row: map[string]any{"id": int32(3), "v": "d", "n": int32(9)}, Version: 2},
	)
	expect(t, tg, tab, `1|b|7;2|c|\N;3|d|9`)
}

func testEvolve(t *testing.T, tg Target) {
	tab := kv(t, tg.Database, "evolve")
	tab.Columns = append(tab.Columns, schema.Column{Name: "gone", Type: mustType(t, "int"), Nullable: true})
	prepare(t, tg, tab)
	write(t, tg, tab, apply.Change{Op: apply.Upsert, Row: map[string]any{"id": int32(1), "v": "a", "gone": int32(5)}, Version: 1})

	// Add a column in the middle, widen v, drop gone.
	tab2 := schema.Table{Database: tab.Database, Name: tab.Name, Key: []string{"id"}, Columns: []schema.Column{
		{Name: "id", Type: mustType(t, "int")},
		{Name: "added", Type: mustType(t, "bigint")},
		{Name: "v", Type: mustType(t, "varchar(200)"), Nullable: true},
	}}
	prepare(t, tg, tab2)
	prepare(t, tg, tab2)
	// Targets that cannot place a column (PostgreSQL) append it.
	cols := tg.Columns(t, tab.Database, tab.Name)
	sort.Strings(cols)
	if got := strings.Join(cols, ","); got != "_syncline_version,added,id,v" {
		t.Fatalf("columns after evolving: %s", got)
	}
	long := strings.Repeat("x", 150)
	write(t, tg, tab2, apply.Change{Op: apply.Upsert, Row: map[string]any{"id": int32(2), "added": int64(1) << 40, "v": long}, Version: 2})
	expect(t, tg, tab2, `1|\N|a;2|1099511627776|`+long)
	// Without a key, Prepare changes an existing table but creates none.
	prepare(t, tg, schema.Table{Database: tab.Database, Name: "nokey", Columns: tab2.Columns})
	if cols := tg.Columns(t, tab.Database, "nokey"); len(cols) != 0 {
		t.Fatalf("a table was created without a key: %v", cols)
	}
}

func testExistingTables(t *testing.T, tg Target) {
	tg.CreateUserTable(t, tg.Database, "users")
	tab := kv(t, tg.Database, "users")
	err := tg.Sink.Prepare(ctx(t), tab, apply.PrepareOptions{Existing: apply.ExistingFail})
	if !errors.Is(err, apply.ErrExistingTable) || !strings.Contains(err.Error(), "users") || !strings.Contains(err.Error(), "--existing-tables") {
		t.Fatalf("prepare of a user's table: %v; want ErrExistingTable naming the table and the flag", err)
	}
	if err := tg.Sink.Prepare(ctx(t), tab, apply.PrepareOptions{Existing: apply.ExistingWrite}); err != nil {
		t.Fatal(err)
	}
	write(t, tg, tab, up(1, "ours", 5), up(2, "two", 5))
	expect(t, tg, tab, "1|ours;2|two")
}

func testTruncate(t *testing.T, tg Target) {
	tab := kv(t, tg.Database, "trunc")
	prepare(t, tg, tab)
	write(t, tg, tab, up(1, "a", 10), up(2, "b", 30))
	ev := apply.SchemaChange{Version: 20, Database: tab.Database, Table: tab.Name, Kind: apply.DDLTruncateTable, DDL: "TRUNCATE trunc"}
	for range 2 { // idempotent
		if err := tg.Sink.SchemaChange(ctx(t), ev); err != nil {
			t.Fatal(err)
		}
	}
	// Row 2 was written after the truncate (version 30): it stays.
	expect(t, tg, tab, "2|b")
}

func testDropTable(t *testing.T, tg Target) {
	tab := kv(t, tg.Database, "dropped")
	prepare(t, tg, tab)
	write(t, tg, tab, up(1, "a", 10))
	drop := apply.SchemaChange{Version: 20, Database: tab.Database, Table: tab.Name, Kind: apply.DDLDropTable}
	if err := tg.Sink.SchemaChange(ctx(t), drop); err != nil {
		t.Fatal(err)
	}
	if cols := tg.Columns(t, tab.Database, tab.Name); len(cols) != 0 {
		t.Fatalf("table still there: %v", cols)
	}
	// Applied again after the table was created anew: newer rows stay.
	prepare(t, tg, tab)
	write(t, tg, tab, up(1, "old", 15), up(2, "new", 30))
	if err := tg.Sink.SchemaChange(ctx(t), drop); err != nil {
		t.Fatal(err)
	}
	expect(t, tg, tab, "2|new")
	// Dropping a missing table is fine.
	if err := tg.Sink.SchemaChange(ctx(t), apply.SchemaChange{Version: 40, Database: tab.Database, Table: "never", Kind: apply.DDLDropTable}); err != nil {
		t.Fatal(err)
	}
}

func testRenameTable(t *testing.T, tg Target) {
	tab := kv(t, tg.Database, "before_rename")
	prepare(t, tg, tab)
	write(t, tg, tab, up(1, "a", 10))
	ev := apply.SchemaChange{Version: 20, Database: tab.Database, Table: tab.Name, Kind: apply.DDLRenameTable,
		NewDatabase: tab.Database, NewTable: "after_rename"}
	for range 2 { // idempotent
		if err := tg.Sink.SchemaChange(ctx(t), ev); err != nil {
			t.Fatal(err)
		}
	}
	renamed := kv(t, tab.Database, "after_rename")
	expect(t, tg, renamed, "1|a")
	if cols := tg.Columns(t, tab.Database, tab.Name); len(cols) != 0 {
		t.Fatalf("old table still there: %v", cols)
	}
	// The old name created anew, then the rename applied again: nothing
	// moves.
	prepare(t, tg, tab)
	write(t, tg, tab, up(5, "new", 30))
	write(t, tg, renamed, up(2, "b", 25))
	if err := tg.Sink.SchemaChange(ctx(t), ev); err != nil {
		t.Fatal(err)
	}
	expect(t, tg, renamed, "1|a;2|b")
	expect(t, tg, tab, "5|new")
}

func testRenameColumn(t *testing.T, tg Target) {
	tab := kv(t, tg.Database, "rencol")
	prepare(t, tg, tab)
	write(t, tg, tab, up(1, "a", 10))
	ev := apply.SchemaChange{Version: 20, Database: tab.Database, Table: tab.Name, Kind: apply.DDLAlterTable,
		DDL: "ALTER TABLE rencol RENAME COLUMN v TO w", RenamedColumns: map[string]string{"v": "w"}}
	for range 2 {
		err := tg.Sink.SchemaChange(ctx(t), ev)
		if errors.Is(err, apply.ErrUnsupportedDDL) {
			// A target that cannot rename columns (ClickHouse before
			// 20.4) must say so, naming the statement, and change
			// nothing: apply then stops and names --skip-ddl.
			if !strings.Contains(err.Error(), ev.DDL) {
				t.Fatalf("refusal does not name the statement: %v", err)
			}
			expect(t, tg, tab, "1|a", "id", "v")
			return
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	expect(t, tg, tab, "1|a", "id", "w")
	// Prepare honours renames too: x becomes y, not dropped and added.
	tab2 := schema.Table{Database: tab.Database, Name: tab.Name, Key: []string{"id"}, Columns: []schema.Column{
		{Name: "id", Type: mustType(t, "int")},
		{Name: "y", Type: mustType(t, "varchar(20)"), Nullable: true},
	}}
	if err := tg.Sink.Prepare(ctx(t), tab2, apply.PrepareOptions{Renamed: map[string]string{"v": "y", "w": "y"}, DropColumns: true}); err != nil {
		t.Fatal(err)
	}
	expect(t, tg, tab2, "1|a")
}

func testQuoting(t *testing.T, tg Target) {
	db := tg.Database
	name := "we`ird \"ta'ble"
	tab := schema.Table{Database: db, Name: name, Key: []string{"k`ey"}, Columns: []schema.Column{
		{Name: "k`ey", Type: mustType(t, "varchar(40)")},
		{Name: "va\"l", Type: mustType(t, "varchar(40)"), Nullable: true},
		{Name: "select", Type: mustType(t, "decimal(10,2)"), Nullable: true},
	}}
	prepare(t, tg, tab)
	evil := "x'); DROP TABLE t; --\\"
	write(t, tg, tab,
		apply.Change{Op: apply.Upsert, Row: map[string]any{"k`ey": evil, "va\"l": `"q"`, "select": big.NewRat(-12345, 100)}, Version: 1},
		apply.Change{Op: apply.Upsert, Row: map[string]any{"k`ey": "b", "va\"l": nil, "select": nil}, Version: 1},
	)
	expect(t, tg, tab, `b|\N|\N;`+evil+`|"q"|-123.45`)
	write(t, tg, tab, apply.Change{Op: apply.Delete, Row: map[string]any{"k`ey": evil}, Version: 2})
	expect(t, tg, tab, `b|\N|\N`)
}
