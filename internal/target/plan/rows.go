package plan

import (
	"fmt"
	"sort"

	"github.com/syncline/syncline/apply"
)

// Versions is what a target table holds, as far as statements that remove
// rows need to know.
type Versions struct {
	// Exists: the table is there.
	Exists bool
	// Ours: it has the version column (apply created it, or writes into it
	// with --existing-tables write).
	Ours bool
	// Rows is how many rows it holds (on ClickHouse, row versions and
	// delete rows included).
	Rows uint64
	// Low and Newest are the lowest and highest version of its rows (0
	// when it holds none).
	Low, Newest int64
}

// Truncate plans a truncate_table (drop false) or drop_table (drop true)
// at version on the table db.table: the rows older than the statement go,
// newer ones (written after it: of a table created again under the name)
// stay, and a dropped table is dropped only when nothing newer is in it. A
// table that is not apply's own is left alone. It reports whether the
// table is gone afterwards.
func Truncate(db, table string, v Versions, version int64, drop bool, caps Capabilities) (ops []Op, gone bool) {
	at := func(k Kind) Op { return Op{Kind: k, Database: db, Table: table, Version: version} }
	switch {
	case !v.Exists:
		return nil, true
	case !v.Ours:
		return nil, false
	case v.Rows == 0 || v.Newest < version:
		if drop {
			return []Op{at(DropTable)}, true
		}
		if v.Rows == 0 {
			return nil, false
		}
		if caps.TruncateAllOlder {
			return []Op{at(TruncateTable)}, false
		}
		return []Op{at(DeleteOlder)}, false
	case v.Low < version:
		return []Op{at(DeleteOlder)}, false
	}
	return nil, false
}

// MoveTable plans a rename_table of ev.Database.ev.Table to
// ev.NewDatabase.ev.NewTable, given whether the old name exists and what
// the new name holds. Nothing is planned when it happened already (the old
// name is gone, or the new one holds rows at least as new as the
// statement). An empty table of apply's under the new name is dropped
// first; one that is not apply's, or that holds older rows, is refused.
func MoveTable(ev apply.SchemaChange, fromExists bool, to Versions) []Op {
	if !fromExists {
		return nil // done already, or never created
	}
	var ops []Op
	if to.Exists {
		switch {
		case !to.Ours:
			return refuse(fmt.Errorf("%w: rename %s.%s to %s.%s: the new name is taken by a table syncline apply did not create", apply.ErrUnsupportedDDL, ev.Database, ev.Table, ev.NewDatabase, ev.NewTable))
		case to.Rows > 0 && to.Newest >= ev.Version:
			return nil // renamed already; the old name was created again since
		case to.Rows == 0:
			ops = append(ops, Op{Kind: DropTable, Database: ev.NewDatabase, Table: ev.NewTable})
		default:
			return refuse(fmt.Errorf("%w: rename %s.%s to %s.%s: both tables hold rows older than the rename", apply.ErrUnsupportedDDL, ev.Database, ev.Table, ev.NewDatabase, ev.NewTable))
		}
	}
	if ev.NewDatabase != ev.Database {
		ops = append(ops, Op{Kind: CreateDatabase, NewDatabase: ev.NewDatabase})
	}
	return append(ops, Op{Kind: RenameTable, Database: ev.Database, Table: ev.Table, NewDatabase: ev.NewDatabase, NewTable: ev.NewTable})
}

// ClearDatabase plans a drop_database at version of db holding tables (by
// name): each table as a drop_table, then the database when no table is
// left in it (a table apply did not create is never dropped, nor one
// holding newer rows).
func ClearDatabase(db string, tables map[string]Versions, version int64, caps Capabilities) []Op {
	var ops []Op
	left := 0
	names := make([]string, 0, len(tables))
	for name := range tables {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		o, gone := Truncate(db, name, tables[name], version, true, caps)
		ops = append(ops, o...)
		if !gone {
			left++
		}
	}
	if left == 0 {
		ops = append(ops, Op{Kind: DropDatabase, Database: db})
	}
	return ops
}
