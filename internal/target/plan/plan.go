// Package plan decides, once for every target, how a target table follows
// the source's schema (docs/targets.md, "Schema changes"). Its functions are
// pure: they take the table shape the events need, the target's current
// shape as its catalog describes it, and the policy (--existing-tables,
// --skip-ddl, the server's capabilities), and return the operations to run.
// Each target only reads its catalog, renders the operations in its SQL
// dialect and runs them.
package plan

import (
	"fmt"
	"sort"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/schema"
)

// Kind is the kind of an operation.
type Kind uint8

// The operations a target renders.
const (
	// Refuse stops: Op.Err says why (wrapping apply.ErrExistingTable,
	// apply.ErrKeyChanged or apply.ErrUnsupportedDDL). A plan holding a
	// Refuse holds nothing else.
	Refuse Kind = iota + 1
	// CreateTable creates the database/schema (if missing) and the table
	// Op.Table with Op.Shape's columns, key, the version column and the
	// target's own columns.
	CreateTable
	// AddVersionColumn adds apply.VersionColumn to an existing table
	// written with --existing-tables write.
	AddVersionColumn
	// AddOwnColumn adds Op.Name, a column the target keeps besides the
	// version column (Capabilities.OwnColumns).
	AddOwnColumn
	// RenameColumn renames Op.From to Op.To.
	RenameColumn
	// KeepOldColumn keeps Op.Have, renamed to Op.To in the source, under
	// its old name because the server cannot rename columns: it gets no
	// values from now on and is made nullable (when Op.Have is not); the
	// new name is added beside it (an AddColumn of the same plan).
	KeepOldColumn
	// DropColumn drops Op.Have.
	DropColumn
	// AddColumn adds Op.Column, nullable, after Op.After (the column before
	// it in the source; "" when it is the first).
	AddColumn
	// ChangeColumn changes Op.Have to follow Op.Column: with Op.Retype its
	// type becomes the mapping of Op.Column's type; Op.Nullable is whether
	// it accepts NULL afterwards (it was relaxed when Op.Have did not).
	ChangeColumn
	// DeleteOlder deletes the table's rows whose version is below
	// Op.Version.
	DeleteOlder
	// TruncateTable removes every row of the table (all are older than the
	// statement).
	TruncateTable
	// DropTable drops the table.
	DropTable
	// CreateDatabase creates the database/schema Op.NewDatabase if missing
	// (before a table moves into it).
	CreateDatabase
	// RenameTable renames Op.Database.Op.Table to Op.NewDatabase.Op.NewTable.
	RenameTable
	// DropDatabase drops the database/schema Op.Database (nothing of
	// apply's is left in it).
	DropDatabase
)

var kindNames = [...]string{
	Refuse: "refuse", CreateTable: "create table", AddVersionColumn: "add version column",
	AddOwnColumn: "add own column", RenameColumn: "rename column", KeepOldColumn: "keep old column",
	DropColumn: "drop column", AddColumn: "add column", ChangeColumn: "change column",
	DeleteOlder: "delete older rows", TruncateTable: "truncate table", DropTable: "drop table",
	CreateDatabase: "create database", RenameTable: "rename table", DropDatabase: "drop database",
}

// String names the kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Column is a column as the target's catalog describes it.
type Column struct {
	Name string
	// Type is the target's type text (COLUMN_TYPE, format_type, the
	// ClickHouse type without Nullable).
	Type string
	// Nullable: the column accepts NULL.
	Nullable bool
}

// Table is a target table as its catalog describes it.
type Table struct {
	// Exists: the table is there; the other fields are then read.
	Exists bool
	// Columns in table order.
	Columns []Column
	// Key is the primary (or sorting) key in key order. It is read only
	// when the source table has a key.
	Key []string
	// Unwritable, when set, is why apply cannot write the table whatever
	// the policy (e.g. a ClickHouse engine that keeps every row); it
	// wraps the error the target returns.
	Unwritable error
}

// Column returns the column of that name.
func (t Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Has reports whether the table has a column of that name.
func (t Table) Has(name string) bool { _, ok := t.Column(name); return ok }

// Capabilities is what a target (and its server) can do.
type Capabilities struct {
	// SameType reports whether a target column already holds the mapping
	// of a source type (Retype is planned when it does not).
	SameType func(have Column, want schema.Type) bool
	// OwnColumns are columns the target keeps in each of its tables
	// besides the version column: added when missing, never dropped.
	OwnColumns []string
	// RenameColumn: the server renames columns.
	RenameColumn bool
	// KeyRename: the server renames key columns (ClickHouse's sorting key
	// never is).
	KeyRename bool
	// NullableKey: key columns may be made nullable (false on ClickHouse,
	// whose sorting key never is).
	NullableKey bool
	// TruncateAllOlder: a truncate or drop whose rows are all older than
	// the statement uses TRUNCATE/DROP at once rather than a DELETE
	// (ClickHouse, where DELETE is a slow mutation).
	TruncateAllOlder bool
}

// Op is one operation on the target.
type Op struct {
	Kind Kind
	// Database and Table name the table the operation changes.
	Database, Table string
	// Shape is the table to create (CreateTable).
	Shape schema.Table
	// Column is the source column (AddColumn, ChangeColumn).
	Column schema.Column
	// Have is the target's column (ChangeColumn, KeepOldColumn, DropColumn).
	Have Column
	// Name is the own column to add (AddOwnColumn).
	Name string
	// From and To are the old and new names of a RenameColumn; To is also
	// the new name of a KeepOldColumn.
	From, To string
	// After is the column an AddColumn goes after; "" for the first.
	After string
	// Retype and Nullable describe a ChangeColumn.
	Retype, Nullable bool
	// Version is the statement's version (DeleteOlder).
	Version int64
	// NewDatabase and NewTable are the new name (RenameTable,
	// CreateDatabase).
	NewDatabase, NewTable string
	// Err is why a Refuse refuses.
	Err error
}

// String describes the operation for logs.
func (o Op) String() string {
	switch o.Kind {
	case RenameColumn:
		return fmt.Sprintf("rename column %s to %s", o.From, o.To)
	case AddColumn:
		return "add column " + o.Column.Name
	case ChangeColumn:
		return "change column " + o.Column.Name
	case DropColumn, KeepOldColumn:
		return o.Kind.String() + " " + o.Have.Name
	case AddOwnColumn:
		return "add column " + o.Name
	case Refuse:
		return "refuse: " + o.Err.Error()
	case RenameTable:
		return fmt.Sprintf("rename %s.%s to %s.%s", o.Database, o.Table, o.NewDatabase, o.NewTable)
	case CreateDatabase:
		return "create database " + o.NewDatabase
	case DropDatabase:
		return "drop database " + o.Database
	}
	return o.Kind.String() + " " + o.Database + "." + o.Table
}

// Err returns the error of the plan's Refuse, nil when it refuses nothing.
func Err(ops []Op) error {
	for _, o := range ops {
		if o.Kind == Refuse {
			return o.Err
		}
	}
	return nil
}

func refuse(err error) []Op { return []Op{{Kind: Refuse, Err: err}} }

// Prepare plans what makes the target table cur able to hold rows of shape
// t under opts (see apply.Sink.Prepare): create it when missing (a table
// without a key is never created), refuse a table that is not apply's own
// unless --existing-tables write, refuse one the target cannot write or
// whose key differs, add the version and own columns, rename the columns
// still under an old name (opts.Renamed), drop the columns t lacks (with
// opts.DropColumns), add the columns the target lacks and change the types
// that differ (except opts.KeepTypes) or relax NOT NULL.
//
// The operations come in the order they must run; every one after the
// renames uses the new names.
func Prepare(t schema.Table, cur Table, opts apply.PrepareOptions, caps Capabilities) []Op {
	name := t.Database + "." + t.Name
	at := func(o Op) Op { o.Database, o.Table = t.Database, t.Name; return o }
	if !cur.Exists || len(cur.Columns) == 0 {
		if len(t.Key) == 0 {
			return nil
		}
		return []Op{at(Op{Kind: CreateTable, Shape: t})}
	}
	// Check everything before changing anything.
	ours := cur.Has(apply.VersionColumn)
	if !ours && opts.Existing != apply.ExistingWrite {
		return refuse(fmt.Errorf("%w: %s was not created by syncline apply (it has no %s column); drop it, or restart apply with --existing-tables write to write into it",
			apply.ErrExistingTable, name, apply.VersionColumn))
	}
	if cur.Unwritable != nil {
		return refuse(cur.Unwritable)
	}
	if len(t.Key) > 0 {
		if err := apply.CheckKey(t, cur.Key); err != nil {
			return refuse(err)
		}
	}
	var ops []Op
	if !ours {
		ops = append(ops, at(Op{Kind: AddVersionColumn}))
	}
	for _, own := range caps.OwnColumns {
		if !cur.Has(own) {
			ops = append(ops, at(Op{Kind: AddOwnColumn, Name: own}))
		}
	}
	inKey := make(map[string]bool, len(cur.Key))
	for _, k := range cur.Key {
		inKey[k] = true
	}
	want := make(map[string]bool, len(t.Columns))
	for _, col := range t.Columns {
		want[col.Name] = true
	}
	// Renames first: later operations use the new names. cols is the
	// table as it will be after them.
	cols := make([]Column, len(cur.Columns))
	copy(cols, cur.Columns)
	keepOld := map[string]bool{}
	for i, tc := range cur.Columns {
		to, ok := opts.Renamed[tc.Name]
		if want[tc.Name] || !ok || !want[to] {
			continue
		}
		if cur.Has(to) {
			// Renamed already, or the new name was added beside the old
			// column a target that cannot rename kept: that column stays
			// (dropped here, its values would be lost).
			if !caps.RenameColumn {
				keepOld[tc.Name] = true
			}
			continue
		}
		switch {
		case inKey[tc.Name] && !caps.KeyRename:
			return refuse(fmt.Errorf("%w: key column %s of %s is renamed to %s in the source; the target cannot rename a key column",
				apply.ErrUnsupportedDDL, tc.Name, name, to))
		case !caps.RenameColumn:
			keepOld[tc.Name] = true
			ops = append(ops, at(Op{Kind: KeepOldColumn, Have: tc, To: to}))
			continue
		}
		ops = append(ops, at(Op{Kind: RenameColumn, From: tc.Name, To: to}))
		cols[i].Name = to
		if inKey[tc.Name] {
			inKey[to] = true
		}
	}
	own := map[string]bool{apply.VersionColumn: true}
	for _, c := range caps.OwnColumns {
		own[c] = true
	}
	if opts.DropColumns {
		for _, tc := range cols {
			if !want[tc.Name] && !keepOld[tc.Name] && !own[tc.Name] {
				ops = append(ops, at(Op{Kind: DropColumn, Have: tc}))
			}
		}
	}
	have := make(map[string]Column, len(cols))
	for _, tc := range cols {
		have[tc.Name] = tc
	}
	after := ""
	for _, col := range t.Columns {
		tc, ok := have[col.Name]
		prev := after
		after = col.Name
		if !ok {
			// Rows written before the column existed reach the target
			// without it: it is nullable there.
			ops = append(ops, at(Op{Kind: AddColumn, Column: col, After: prev}))
			continue
		}
		retype := !opts.KeepTypes[col.Name] && !caps.SameType(tc, col.Type)
		nullable := tc.Nullable || col.Nullable
		if inKey[col.Name] && !caps.NullableKey {
			nullable = tc.Nullable
		}
		if retype || nullable != tc.Nullable {
			ops = append(ops, at(Op{Kind: ChangeColumn, Column: col, Have: tc, Retype: retype, Nullable: nullable}))
		}
	}
	return ops
}

// RenameColumns plans the column renames of an alter_table event (the
// "RENAME COLUMN, CHANGE a b" row) on the table cur: each column the table
// still has under its old name and not yet under the new one is renamed,
// in the order of the old names. A target that cannot rename it refuses,
// naming the statement and why (noRename, e.g. "ClickHouse 18.16 has no
// RENAME COLUMN"); --skip-ddl skips it, and Prepare then keeps the old
// column.
func RenameColumns(ev apply.SchemaChange, cur Table, caps Capabilities, noRename string) []Op {
	if len(ev.RenamedColumns) == 0 || !cur.Exists || len(cur.Columns) == 0 {
		return nil
	}
	inKey := make(map[string]bool, len(cur.Key))
	for _, k := range cur.Key {
		inKey[k] = true
	}
	var ops []Op
	for _, from := range sortedKeys(ev.RenamedColumns) {
		to := ev.RenamedColumns[from]
		if !cur.Has(from) || cur.Has(to) {
			continue // renamed already
		}
		switch {
		case inKey[from] && !caps.KeyRename:
			return refuse(fmt.Errorf("%w: %q renames key column %s of %s.%s; the target cannot rename a key column",
				apply.ErrUnsupportedDDL, ev.DDL, from, ev.Database, ev.Table))
		case !caps.RenameColumn:
			return refuse(fmt.Errorf("%w: %q renames column %s of %s.%s to %s, and %s; once skipped, the old column keeps the values written before the rename and the new name is added",
				apply.ErrUnsupportedDDL, ev.DDL, from, ev.Database, ev.Table, to, noRename))
		}
		ops = append(ops, Op{Kind: RenameColumn, Database: ev.Database, Table: ev.Table, From: from, To: to})
	}
	return ops
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
