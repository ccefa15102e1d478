package plan_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/internal/target/plan"
	"github.com/syncline/syncline/schema"
)

// The capabilities of the three targets as their sinks declare them; the
// type comparison is the textual one of a target that keeps the source's
// types.
var (
	sameText = func(have plan.Column, want schema.Type) bool { return have.Type == want.String() }
	sqlCaps  = plan.Capabilities{SameType: sameText, RenameColumn: true, KeyRename: true, NullableKey: true}
	chCaps   = plan.Capabilities{SameType: sameText, OwnColumns: []string{"_syncline_is_deleted"}, RenameColumn: true, TruncateAllOlder: true}
	// ClickHouse before 20.4 (18.16): no RENAME COLUMN.
	ch18Caps = plan.Capabilities{SameType: sameText, OwnColumns: []string{"_syncline_is_deleted"}, TruncateAllOlder: true}
)

func typ(t *testing.T, s string) schema.Type {
	t.Helper()
	ty, err := schema.ParseType(s)
	if err != nil {
		t.Fatal(err)
	}
	return ty
}

// source builds the shape the events need: "name type [null]" per column,
// the first column the key.
func source(t *testing.T, cols ...string) schema.Table {
	t.Helper()
	tab := schema.Table{Database: "db", Name: "t", Key: []string{"id"}}
	for _, c := range cols {
		f := strings.Fields(c)
		tab.Columns = append(tab.Columns, schema.Column{Name: f[0], Type: typ(t, f[1]), Nullable: len(f) > 2})
	}
	return tab
}

// target builds the target's current shape in the same form, keyed by id;
// the version column is added unless foreign.
func target(foreign bool, cols ...string) plan.Table {
	tab := plan.Table{Exists: true, Key: []string{"id"}}
	for _, c := range cols {
		f := strings.Fields(c)
		tab.Columns = append(tab.Columns, plan.Column{Name: f[0], Type: f[1], Nullable: len(f) > 2})
	}
	if !foreign {
		tab.Columns = append(tab.Columns, plan.Column{Name: apply.VersionColumn, Type: "bigint"})
	}
	return tab
}

// describe renders a plan as one line per operation.
func describe(ops []plan.Op) string {
	var b []string
	for _, o := range ops {
		s := o.Kind.String()
		switch o.Kind {
		case plan.Refuse:
			s += ": " + o.Err.Error()
		case plan.CreateTable:
			s += " " + o.Shape.Name
		case plan.AddOwnColumn:
			s += " " + o.Name
		case plan.RenameColumn:
			s += " " + o.From + " to " + o.To
		case plan.KeepOldColumn, plan.DropColumn:
			s += " " + o.Have.Name
		case plan.AddColumn:
			s += " " + o.Column.Name + " after " + o.After
		case plan.ChangeColumn:
			s += fmt.Sprintf(" %s retype=%v nullable=%v", o.Column.Name, o.Retype, o.Nullable)
		case plan.DeleteOlder:
			s += fmt.Sprintf(" %s.%s < %d", o.Database, o.Table, o.Version)
		case plan.TruncateTable, plan.DropTable:
			s += " " + o.Database + "." + o.Table
		case plan.CreateDatabase:
			s += " " + o.NewDatabase
		case plan.RenameTable:
			s += fmt.Sprintf(" %s.%s to %s.%s", o.Database, o.Table, o.NewDatabase, o.NewTable)
		case plan.DropDatabase:
			s += " " + o.Database
		}
		b = append(b, s)
	}
	return strings.Join(b, "\n")
}

// TestPrepare covers the rows of docs/targets.md "Schema changes" that a
// row-shape diff expresses (ADD COLUMN, MODIFY/CHANGE type, RENAME COLUMN,
// DROP COLUMN, CREATE TABLE, the online schema change tools), the
// ClickHouse rows where they differ, --existing-tables and --skip-ddl.
func TestPrepare(t *testing.T) {
	for _, tc := range []struct {
		row   string
		src   []string
		noKey bool
		cur   plan.Table
		opts  apply.PrepareOptions
		caps  plan.Capabilities
		want  string
		errIs error
	}{
		{row: "CREATE TABLE: created with the first row",
			src: []string{"id int", "a varchar(10) null"}, cur: plan.Table{}, caps: sqlCaps,
			want: "create table t"},
		{row: "CREATE TABLE: a table without key is never created",
			src: []string{"id int"}, noKey: true, cur: plan.Table{}, caps: sqlCaps, want: ""},
		{row: "same shape: nothing to do",
			src: []string{"id int", "a varchar(10) null"}, cur: target(false, "id int", "a varchar(10) null"), caps: sqlCaps, want: ""},
		{row: "ADD COLUMN: added nullable, after the column before it",
			src: []string{"id int", "a int", "b int"}, cur: target(false, "id int", "b int"), caps: sqlCaps,
			want: "add column a after id"},
		{row: "ADD COLUMN: a new first column",
			src: []string{"a int", "id int"}, cur: target(false, "id int"), caps: sqlCaps,
			want: "add column a after "},
		{row: "ADD COLUMN on ClickHouse: the same plan, its own deleted column added when missing",
			src: []string{"id int", "a int"}, cur: target(false, "id int"), caps: chCaps,
			want: "add own column _syncline_is_deleted\nadd column a after id"},
		{row: "MODIFY type: retyped, nullability kept",
			src: []string{"id int", "a bigint"}, cur: target(false, "id int", "a int"), caps: sqlCaps,
			want: "change column a retype=true nullable=false"},
		{row: "MODIFY type: a NOT NULL column that became nullable is relaxed",
			src: []string{"id int", "a int null"}, cur: target(false, "id int", "a int"), caps: sqlCaps,
			want: "change column a retype=false nullable=true"},
		{row: "MODIFY type skipped with --skip-ddl: the type is kept",
			src: []string{"id int", "a bigint"}, cur: target(false, "id int", "a int"), caps: sqlCaps,
			opts: apply.PrepareOptions{KeepTypes: map[string]bool{"a": true}}, want: ""},
		{row: "MODIFY type on ClickHouse: a key column is never made nullable",
			src: []string{"id int null"}, cur: target(false, "id int"), caps: chCaps,
			want: "add own column _syncline_is_deleted"},
		{row: "RENAME COLUMN, CHANGE a b: renamed, then the rest uses the new name",
			src: []string{"id int", "b bigint"}, cur: target(false, "id int", "a int"), caps: sqlCaps,
			opts: apply.PrepareOptions{Renamed: map[string]string{"a": "b"}, DropColumns: true},
			want: "rename column a to b\nchange column b retype=true nullable=false"},
		{row: "RENAME COLUMN, done already: nothing",
			src: []string{"id int", "b int"}, cur: target(false, "id int", "b int"), caps: sqlCaps,
			opts: apply.PrepareOptions{Renamed: map[string]string{"a": "b"}, DropColumns: true}, want: ""},
		{row: "RENAME COLUMN on ClickHouse before 20.4: the old column is kept, the new name added",
			src: []string{"id int", "b int"}, cur: target(false, "id int", "a int", "_syncline_is_deleted UInt8"), caps: ch18Caps,
			opts: apply.PrepareOptions{Renamed: map[string]string{"a": "b"}, DropColumns: true},
			want: "keep old column a\nadd column b after id"},
		{row: "RENAME COLUMN on ClickHouse before 20.4, a later change: the kept old column is never dropped",
			src: []string{"id int", "b int", "c int"}, cur: target(false, "id int", "a int null", "b int null", "_syncline_is_deleted UInt8"), caps: ch18Caps,
			opts: apply.PrepareOptions{Renamed: map[string]string{"a": "b"}, DropColumns: true},
			want: "add column c after b"},
		{row: "RENAME COLUMN of a key column on ClickHouse: refused",
			src: []string{"k int"}, cur: target(false, "id int", "_syncline_is_deleted UInt8"), caps: chCaps,
			opts: apply.PrepareOptions{Renamed: map[string]string{"id": "k"}}, errIs: apply.ErrUnsupportedDDL},
		{row: "DROP COLUMN: dropped once the newest shape lacks it",
			src: []string{"id int"}, cur: target(false, "id int", "a int"), caps: sqlCaps,
			opts: apply.PrepareOptions{DropColumns: true}, want: "drop column a"},
		{row: "DROP COLUMN: kept while an older shape may still have it",
			src: []string{"id int"}, cur: target(false, "id int", "a int"), caps: sqlCaps, want: ""},
		{row: "DROP COLUMN never drops apply's own columns",
			src: []string{"id int"}, cur: target(false, "id int", "_syncline_is_deleted UInt8"), caps: chCaps,
			opts: apply.PrepareOptions{DropColumns: true}, want: ""},
		{row: "pt-online-schema-change / gh-ost: the tool's ALTER in place (add, change, drop, rename at once), no copy",
			src: []string{"id int", "c2 bigint", "d int"}, cur: target(false, "id int", "c int", "x int"), caps: sqlCaps,
			opts: apply.PrepareOptions{Renamed: map[string]string{"c": "c2"}, DropColumns: true},
			want: "rename column c to c2\ndrop column x\nchange column c2 retype=true nullable=false\nadd column d after c2"},
		{row: "existing table, --existing-tables fail: refused naming the flag",
			src: []string{"id int"}, cur: target(true, "id int"), caps: sqlCaps, errIs: apply.ErrExistingTable},
		{row: "existing table, --existing-tables write: the version column is added",
			src: []string{"id int"}, cur: target(true, "id int"), caps: sqlCaps,
			opts: apply.PrepareOptions{Existing: apply.ExistingWrite}, want: "add version column"},
		{row: "existing table the target cannot write (ClickHouse engine): refused before any change",
			src: []string{"id int"}, cur: func() plan.Table {
				c := target(true, "id int")
				c.Unwritable = errors.New("engine MergeTree")
				return c
			}(), caps: chCaps,
			opts: apply.PrepareOptions{Existing: apply.ExistingWrite}, want: "refuse: engine MergeTree"},
		{row: "a change of the primary key stops apply",
			src: []string{"id int", "a int"}, cur: func() plan.Table { c := target(false, "id int", "a int"); c.Key = []string{"a"}; return c }(), caps: sqlCaps,
			errIs: apply.ErrKeyChanged},
	} {
		t.Run(tc.row, func(t *testing.T) {
			src := source(t, tc.src...)
			if tc.noKey {
				src.Key = nil
			}
			ops := plan.Prepare(src, tc.cur, tc.opts, tc.caps)
			if tc.errIs != nil {
				if err := plan.Err(ops); !errors.Is(err, tc.errIs) || len(ops) != 1 {
					t.Fatalf("plan %q: want one refusal wrapping %v", describe(ops), tc.errIs)
				}
				return
			}
			if got := describe(ops); got != tc.want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestRenameColumns covers "RENAME COLUMN, CHANGE a b" of a schema-change
// event, on every target and ClickHouse before 20.4.
func TestRenameColumns(t *testing.T) {
	ev := apply.SchemaChange{Database: "db", Table: "t", Kind: apply.DDLAlterTable, DDL: "ALTER TABLE t RENAME COLUMN b TO c, RENAME COLUMN a TO b2",
		RenamedColumns: map[string]string{"b": "c", "a": "b2"}}
	cur := target(false, "id int", "a int", "b int")
	if got, want := describe(plan.RenameColumns(ev, cur, sqlCaps, "")), "rename column a to b2\nrename column b to c"; got != want {
		t.Errorf("plan:\n%s\nwant:\n%s", got, want)
	}
	if got := describe(plan.RenameColumns(ev, target(false, "id int", "b2 int", "c int"), sqlCaps, "")); got != "" {
		t.Errorf("applied again: plan %q, want nothing", got)
	}
	err := plan.Err(plan.RenameColumns(ev, cur, ch18Caps, "ClickHouse 18.16.1 has no RENAME COLUMN"))
	if !errors.Is(err, apply.ErrUnsupportedDDL) || !strings.Contains(err.Error(), ev.DDL) || !strings.Contains(err.Error(), "ClickHouse 18.16.1 has no RENAME COLUMN") {
		t.Errorf("ClickHouse 18.16: %v, want ErrUnsupportedDDL naming the statement and server", err)
	}
	key := apply.SchemaChange{Database: "db", Table: "t", DDL: "ALTER TABLE t RENAME COLUMN id TO k", RenamedColumns: map[string]string{"id": "k"}}
	if err := plan.Err(plan.RenameColumns(key, cur, chCaps, "")); !errors.Is(err, apply.ErrUnsupportedDDL) {
		t.Errorf("ClickHouse key rename: %v, want ErrUnsupportedDDL", err)
	}
	if got := describe(plan.RenameColumns(key, cur, sqlCaps, "")); got != "rename column id to k" {
		t.Errorf("SQL key rename: %q", got)
	}
}

// TestTruncate covers TRUNCATE and DROP TABLE: rows older than the
// statement go, newer rows survive a replay; ClickHouse truncates at once
// when every row is older.
func TestTruncate(t *testing.T) {
	const v = 100
	for _, tc := range []struct {
		row  string
		cur  plan.Versions
		drop bool
		caps plan.Capabilities
		want string
		gone bool
	}{
		{row: "TRUNCATE: rows older than the statement are deleted", cur: plan.Versions{Exists: true, Ours: true, Rows: 5, Low: 10, Newest: 50}, caps: sqlCaps,
			want: "delete older rows db.t < 100"},
		{row: "TRUNCATE: newer rows survive a replay", cur: plan.Versions{Exists: true, Ours: true, Rows: 5, Low: 10, Newest: 150}, caps: sqlCaps,
			want: "delete older rows db.t < 100"},
		{row: "TRUNCATE applied again: nothing older left", cur: plan.Versions{Exists: true, Ours: true, Rows: 2, Low: 120, Newest: 150}, caps: sqlCaps},
		{row: "TRUNCATE of an empty table", cur: plan.Versions{Exists: true, Ours: true}, caps: sqlCaps},
		{row: "TRUNCATE of a table apply did not create: left alone", cur: plan.Versions{Exists: true, Rows: 5, Newest: 50}, caps: sqlCaps},
		{row: "TRUNCATE on ClickHouse, every row older: TRUNCATE TABLE", cur: plan.Versions{Exists: true, Ours: true, Rows: 5, Low: 10, Newest: 50}, caps: chCaps,
			want: "truncate table db.t"},
		{row: "TRUNCATE on ClickHouse, some rows newer: DELETE mutation", cur: plan.Versions{Exists: true, Ours: true, Rows: 5, Low: 10, Newest: 150}, caps: chCaps,
			want: "delete older rows db.t < 100"},
		{row: "DROP TABLE: dropped when nothing newer is in it", cur: plan.Versions{Exists: true, Ours: true, Rows: 5, Low: 10, Newest: 50}, drop: true, caps: sqlCaps,
			want: "drop table db.t", gone: true},
		{row: "DROP TABLE: a table created again since keeps its newer rows", cur: plan.Versions{Exists: true, Ours: true, Rows: 5, Low: 10, Newest: 150}, drop: true, caps: sqlCaps,
			want: "delete older rows db.t < 100"},
		{row: "DROP TABLE applied again: gone already", cur: plan.Versions{}, drop: true, caps: chCaps, gone: true},
		{row: "DROP TABLE of a table apply did not create: kept", cur: plan.Versions{Exists: true, Rows: 1}, drop: true, caps: chCaps},
	} {
		t.Run(tc.row, func(t *testing.T) {
			ops, gone := plan.Truncate("db", "t", tc.cur, v, tc.drop, tc.caps)
			if got := describe(ops); got != tc.want || gone != tc.gone {
				t.Errorf("plan %q gone %v, want %q gone %v", got, gone, tc.want, tc.gone)
			}
		})
	}
}

// TestMoveTable covers RENAME TABLE.
func TestMoveTable(t *testing.T) {
	ev := apply.SchemaChange{Version: 100, Database: "db", Table: "t", Kind: apply.DDLRenameTable, NewDatabase: "db2", NewTable: "u"}
	same := ev
	same.NewDatabase = "db"
	for _, tc := range []struct {
		row   string
		ev    apply.SchemaChange
		from  bool
		to    plan.Versions
		want  string
		errIs error
	}{
		{row: "RENAME TABLE: renamed", ev: same, from: true, want: "rename table db.t to db.u"},
		{row: "RENAME TABLE to another database: created first", ev: ev, from: true, want: "create database db2\nrename table db.t to db2.u"},
		{row: "RENAME TABLE applied again: the old name is gone", ev: same, from: false, to: plan.Versions{Exists: true, Ours: true, Rows: 3, Newest: 90}},
		{row: "RENAME TABLE applied again, the old name created since", ev: same, from: true, to: plan.Versions{Exists: true, Ours: true, Rows: 3, Newest: 100}},
		{row: "RENAME TABLE onto an empty table of apply's: dropped first", ev: same, from: true, to: plan.Versions{Exists: true, Ours: true},
			want: "drop table db.u\nrename table db.t to db.u"},
		{row: "RENAME TABLE onto a table apply did not create: refused", ev: same, from: true, to: plan.Versions{Exists: true}, errIs: apply.ErrUnsupportedDDL},
		{row: "RENAME TABLE when both hold older rows: refused", ev: same, from: true, to: plan.Versions{Exists: true, Ours: true, Rows: 1, Newest: 10}, errIs: apply.ErrUnsupportedDDL},
	} {
		t.Run(tc.row, func(t *testing.T) {
			ops := plan.MoveTable(tc.ev, tc.from, tc.to)
			if tc.errIs != nil {
				if err := plan.Err(ops); !errors.Is(err, tc.errIs) {
					t.Fatalf("plan %q: want a refusal wrapping %v", describe(ops), tc.errIs)
				}
				return
			}
			if got := describe(ops); got != tc.want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestClearDatabase covers DROP DATABASE: each table as DROP TABLE, the
// database dropped when nothing is left in it.
func TestClearDatabase(t *testing.T) {
	old := plan.Versions{Exists: true, Ours: true, Rows: 2, Low: 1, Newest: 50}
	newer := plan.Versions{Exists: true, Ours: true, Rows: 2, Low: 1, Newest: 150}
	foreign := plan.Versions{Exists: true, Rows: 2}
	for _, tc := range []struct {
		row    string
		tables map[string]plan.Versions
		want   string
	}{
		{row: "every table older: all dropped, then the database",
			tables: map[string]plan.Versions{"b": old, "a": old}, want: "drop table db.a\ndrop table db.b\ndrop database db"},
		{row: "a table with newer rows stays, and so does the database",
			tables: map[string]plan.Versions{"a": old, "b": newer}, want: "drop table db.a\ndelete older rows db.b < 100"},
		{row: "a table apply did not create stays, and so does the database",
			tables: map[string]plan.Versions{"a": old, "f": foreign}, want: "drop table db.a"},
		{row: "an empty database is dropped", want: "drop database db"},
	} {
		t.Run(tc.row, func(t *testing.T) {
			if got := describe(plan.ClearDatabase("db", tc.tables, 100, sqlCaps)); got != tc.want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}
