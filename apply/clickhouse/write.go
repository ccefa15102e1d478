package clickhouse

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/schema"
)

// keysTable is the external table that carries the keys of a batch into
// the query reading their stored rows.
const keysTable = "_syncline_keys"

// stored is the row a key has in the target (FINAL).
type stored struct {
	version uint64
	deleted bool
	values  map[string]any // as scanned: the driver appends them back as they are
}

// Write applies a batch as one INSERT; see apply.Sink.
//
// Every change becomes a row: an upsert its row with _syncline_is_deleted
// 0, a delete the key with the other columns at their defaults (NULL where
// Nullable) and _syncline_is_deleted 1, both with the change's version in
// _syncline_version. ReplacingMergeTree(_syncline_version) keeps the row of
// the highest version per key, and among equal versions the last inserted:
// an older change arriving late loses, a replay inserts a duplicate that
// merges away, a delete as new as the row wins. The batch is sent as one
// native block, which MergeTree writes as one part, atomically (apply's
// tables have no partition key). Should the connection break during the
// INSERT, apply sends the batch again; its rows then merge with any written
// the first time.
//
// Two cases read the stored rows of the batch's keys first (one query, the
// keys sent as an external table): upserts lacking columns, which keep the
// stored values of those columns as on any other target, and tables whose
// engine does not use the version column (a user's table written with
// --existing-tables write), where Write itself leaves out the changes older
// than the stored row.
func (s *Sink) Write(ctx context.Context, t schema.Table, changes []apply.Change) error {
	if len(changes) == 0 {
		return nil
	}
	name := t.Database + "." + t.Name
	if len(t.Key) == 0 {
		return fmt.Errorf("write %s: %w: the table has no key", name, errBadValue)
	}
	keyIdx := make([]int, len(t.Key))
	isKey := make(map[string]bool, len(t.Key))
	for i, k := range t.Key {
		_, idx, ok := t.Column(k)
		if !ok {
			return fmt.Errorf("write %s: %w: key column %s is not a column", name, errBadValue, k)
		}
		keyIdx[i] = idx
		isKey[t.Columns[idx].Name] = true
	}
	for _, ch := range changes {
		if ch.Version < 0 {
			return fmt.Errorf("write %s: %w: negative version %d", name, errBadValue, ch.Version)
		}
	}
	return s.withConn(ctx, func(ctx context.Context, c driver.Conn, srv *server) error {
		meta, err := s.meta(ctx, c, t.Database, t.Name)
		if err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		types := make([]chType, len(t.Columns))
		for i, col := range t.Columns {
			ct, ok := meta.types[col.Name]
			if !ok {
				s.forget(tableKey{t.Database, t.Name})
				return apply.Retryable(fmt.Errorf("write %s: column %s is not in the target (changed outside apply?); reading the table again", name, col.Name))
			}
			types[i] = ct
		}
		keyTypes := make([]chType, len(keyIdx))
		for i, idx := range keyIdx {
			keyTypes[i] = types[idx]
		}
		// The key of each change, converted.
		keys := make([][]any, len(changes))
		for i, ch := range changes {
			keys[i] = make([]any, len(keyIdx))
			for j, idx := range keyIdx {
				col := t.Columns[idx]
				v, ok := ch.Row[col.Name]
				if !ok {
					return fmt.Errorf("write %s: %w: a change lacks key column %s", name, errBadValue, col.Name)
				}
				if keys[i][j], err = convert(v, col.Type, keyTypes[j]); err != nil {
					return fmt.Errorf("write %s: key column %s: %w", name, col.Name, err)
				}
			}
		}
		// The stored rows, where needed.
		var lookup []int
		fetch := map[string]bool{}
		for i, ch := range changes {
			need := meta.guarded
			if ch.Op == apply.Upsert {
				for _, col := range t.Columns {
					if _, ok := ch.Row[col.Name]; !ok {
						fetch[col.Name] = true
						need = true
					}
				}
			}
			if need {
				lookup = append(lookup, i)
			}
		}
		var old map[string]stored
		if len(lookup) > 0 {
			var fetchCols []string
			for _, col := range t.Columns {
				if fetch[col.Name] {
					fetchCols = append(fetchCols, col.Name)
				}
			}
			if old, err = readStored(ctx, c, t, keyIdx, keyTypes, keys, lookup, fetchCols); err != nil {
				return fmt.Errorf("write %s: %w", name, err)
			}
		}

		batch, err := c.PrepareBatch(ctx, insertSQL(t))
		if err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		defer func() { _ = batch.Close() }()
		// The block must hold exactly the named columns in their order:
		// anything else means the statement was misread, and values would
		// land in the wrong columns.
		header := batch.Columns()
		names := make([]string, 0, len(t.Columns)+2)
		for _, col := range t.Columns {
			names = append(names, col.Name)
		}
		names = append(names, apply.VersionColumn, DeletedColumn)
		same := len(header) == len(names)
		for i := 0; same && i < len(names); i++ {
			same = header[i].Name() == names[i]
		}
		if !same {
			got := make([]string, len(header))
			for i, h := range header {
				got[i] = h.Name()
			}
			return fmt.Errorf("write %s: the insert block has columns %q, not %q", name, got, names)
		}
		for i := range t.Columns {
			if normalizeType(string(header[i].Type())) != normalizeType(types[i].full) {
				s.forget(tableKey{t.Database, t.Name})
				return apply.Retryable(fmt.Errorf("write %s: column %s is %s in the target, not %s (changed outside apply?); reading the table again",
					name, t.Columns[i].Name, header[i].Type(), types[i].full))
			}
		}
		n := len(t.Columns)
		for i, ch := range changes {
			st, found := stored{}, false
			if old != nil {
				st, found = old[keyString(keys[i], keyTypes)]
			}
			if meta.guarded && found && st.version > uint64(ch.Version) {
				continue // older than the stored row: it loses
			}
			row := make([]any, n+2)
			for j, col := range t.Columns {
				if isKey[col.Name] {
					row[j] = keys[i][indexOf(keyIdx, j)]
					continue
				}
				v, ok := ch.Row[col.Name]
				switch {
				case ch.Op == apply.Delete:
					row[j] = zeroValue(types[j], header[j].ScanType())
				case !ok && found && !st.deleted:
					row[j] = st.values[col.Name]
				case !ok:
					row[j] = zeroValue(types[j], header[j].ScanType())
				default:
					if row[j], err = convert(v, col.Type, types[j]); err != nil {
						return fmt.Errorf("write %s: column %s: %w", name, col.Name, err)
					}
				}
			}
			row[n] = uint64(ch.Version)
			if ch.Op == apply.Delete {
				row[n+1] = uint8(1)
			} else {
				row[n+1] = uint8(0)
			}
			if err := batch.Append(row...); err != nil {
				return fmt.Errorf("write %s: %w: %w", name, errBadValue, err)
			}
		}
		if batch.Rows() == 0 {
			return batch.Abort()
		}
		if err := batch.Send(); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		return nil
	})
}

func indexOf(s []int, v int) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// insertSQL is the INSERT of a batch, naming every column (servers such as
// 18.16 require the list). clickhouse-go reads the statement with regular
// expressions that do not know quoting (a "(" in a table name, or a space
// followed by "(" anywhere, changes what it sends); so every name is written
// with all bytes but letters, digits and "_" as \xHH escapes, and the list
// follows the table name without a space, which leaves the server's column
// order as it is. Write still checks the columns the server answers with.
func insertSQL(t schema.Table) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(opaque(t.Database) + "." + opaque(t.Name))
	b.WriteString("(")
	for _, col := range t.Columns {
		b.WriteString(opaque(col.Name))
		b.WriteString(",")
	}
	b.WriteString(opaque(apply.VersionColumn) + "," + opaque(DeletedColumn) + ")")
	return b.String()
}

// opaque quotes an identifier with backticks, writing every byte but ASCII
// letters, digits and "_" as a \xHH escape, which ClickHouse reads in
// quoted identifiers.
func opaque(name string) string {
	const digits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(name) + 2)
	b.WriteByte('`')
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			b.WriteByte(c)
			continue
		}
		b.WriteString(`\x`)
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&15])
	}
	b.WriteByte('`')
	return b.String()
}

// readStored reads the stored row (FINAL) of the keys of changes[lookup]:
// version, deleted flag and the columns fetch. The keys travel as the
// external table _syncline_keys; the result is indexed by keyString.
func readStored(ctx context.Context, c driver.Conn, t schema.Table, keyIdx []int, keyTypes []chType, keys [][]any, lookup []int, fetch []string) (map[string]stored, error) {
	cols := make([]func(*ext.Table) error, len(keyIdx))
	sub := make([]string, len(keyIdx))
	keyNames := make([]string, len(keyIdx))
	for i, idx := range keyIdx {
		k := "k" + strconv.Itoa(i)
		cols[i] = ext.Column(k, column.Type(keyTypes[i].base))
		sub[i] = k
		keyNames[i] = quote(t.Columns[idx].Name)
	}
	et, err := ext.NewTable(keysTable, cols...)
	if err != nil {
		return nil, err
	}
	for _, i := range lookup {
		if err := et.Append(keys[i]...); err != nil {
			return nil, fmt.Errorf("send keys: %w", err)
		}
	}
	sel := append([]string{}, keyNames...)
	for _, f := range fetch {
		sel = append(sel, quote(f))
	}
	sel = append(sel, quote(apply.VersionColumn), quote(DeletedColumn))
	lhs := keyNames[0]
	if len(keyNames) > 1 {
		lhs = "(" + strings.Join(keyNames, ", ") + ")"
	}
	// FINAL gives the winning row of each key; filtering on the key alone
	// is safe with FINAL (all rows of a key pass or fail together).
	q := "SELECT " + strings.Join(sel, ", ") + " FROM " + qualified(t.Database, t.Name) +
		" FINAL WHERE " + lhs + " IN (SELECT " + strings.Join(sub, ", ") + " FROM " + keysTable + ")"
	rows, err := c.Query(clickhouse.Context(ctx, clickhouse.WithExternalTable(et)), q)
	if err != nil {
		return nil, fmt.Errorf("read stored rows: %w", err)
	}
	defer rows.Close()
	colTypes := rows.ColumnTypes()
	out := map[string]stored{}
	for rows.Next() {
		ptrs := make([]any, len(colTypes))
		for i, ct := range colTypes {
			ptrs[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("read stored rows: %w", err)
		}
		vals := make([]any, len(ptrs))
		for i, p := range ptrs {
			vals[i] = reflect.ValueOf(p).Elem().Interface()
		}
		nk := len(keyIdx)
		st := stored{values: make(map[string]any, len(fetch))}
		for i, f := range fetch {
			st.values[f] = vals[nk+i]
		}
		st.version, _ = vals[nk+len(fetch)].(uint64)
		flag, _ := vals[nk+len(fetch)+1].(uint8)
		st.deleted = flag != 0
		out[keyString(vals[:nk], keyTypes)] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read stored rows: %w", err)
	}
	return out, nil
}
