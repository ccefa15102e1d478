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
// The block is built column by column: each column's conversion is chosen
// once per batch, and its values are appended to the block as one slice of
// the column's Go type (decimals as the unscaled integer and exponent the
// driver encodes, without text). Columns the sink does not type itself go
// value by value, as the driver converts them.
//
// Two cases read the stored rows of the batch's keys (one query, the keys
// sent as an external table): tables whose engine does not use the version
// column (a user's table written with --existing-tables write), first,
// where Write itself leaves out the changes older than the stored row; and
// upserts lacking columns, which keep the stored values of those columns as
// on any other target: building the block finds them, and the block is
// built again after the read (which never waits for a connection while the
// block holds one).
func (s *Sink) Write(ctx context.Context, t schema.Table, changes []apply.Change) error {
	if len(changes) == 0 {
		return nil
	}
	name := t.Database + "." + t.Name
	if len(t.Key) == 0 {
		return fmt.Errorf("write %s: %w: the table has no key", name, errBadValue)
	}
	w := &tableWrite{s: s, t: t, name: name, keyIdx: make([]int, len(t.Key)), isKey: make([]bool, len(t.Columns))}
	for i, k := range t.Key {
		_, idx, ok := t.Column(k)
		if !ok {
			return fmt.Errorf("write %s: %w: key column %s is not a column", name, errBadValue, k)
		}
		w.keyIdx[i] = idx
		w.isKey[idx] = true
	}
	for _, ch := range changes {
		if ch.Version < 0 {
			return fmt.Errorf("write %s: %w: negative version %d", name, errBadValue, ch.Version)
		}
	}
	return s.withConn(ctx, func(ctx context.Context, c driver.Conn, srv *server) error {
		if err := w.readMeta(ctx, c); err != nil {
			return err
		}
		return w.write(ctx, c, changes)
	})
}

// tableWrite is the writing of one batch into one table.
type tableWrite struct {
	s      *Sink
	t      schema.Table
	name   string // db.table, for errors
	keyIdx []int  // the key columns' indexes in t.Columns
	isKey  []bool // by index in t.Columns

	// From the table's metadata.
	guarded  bool
	types    []chType // of t.Columns in the target
	keyTypes []chType // of the key columns
}

// readMeta reads the target types of the table's columns.
func (w *tableWrite) readMeta(ctx context.Context, c driver.Conn) error {
	meta, err := w.s.meta(ctx, c, w.t.Database, w.t.Name)
	if err != nil {
		return fmt.Errorf("write %s: %w", w.name, err)
	}
	w.guarded = meta.guarded
	w.types = make([]chType, len(w.t.Columns))
	for i, col := range w.t.Columns {
		ct, ok := meta.types[col.Name]
		if !ok {
			w.s.forget(tableKey{w.t.Database, w.t.Name})
			return apply.Retryable(fmt.Errorf("write %s: column %s is not in the target (changed outside apply?); reading the table again", w.name, col.Name))
		}
		w.types[i] = ct
	}
	w.keyTypes = make([]chType, len(w.keyIdx))
	for i, idx := range w.keyIdx {
		w.keyTypes[i] = w.types[idx]
	}
	return nil
}

// write inserts the changes, after reading the stored rows where needed:
// in a guarded table those of every key, before the batch; for upserts
// lacking columns those of their keys, once the first attempt at the
// batch found them lacking (the stored values fill the columns).
func (w *tableWrite) write(ctx context.Context, c driver.Conn, changes []apply.Change) error {
	var old map[string]stored
	if w.guarded {
		var err error
		if changes, old, err = w.newer(ctx, c, changes); err != nil {
			return err
		}
	}
	lack, err := w.insert(ctx, c, changes, old)
	if err != nil || lack == nil {
		return err
	}
	// Read while no batch holds a connection, then build the batch again.
	if old, err = readStored(ctx, c, w.t, w.keyIdx, w.keyTypes, lack.keys, lack.columns); err != nil {
		return fmt.Errorf("write %s: %w", w.name, err)
	}
	_, err = w.insert(ctx, c, changes, old)
	return err
}

// lacking names the upserts of a batch that lack columns: their keys and
// the columns any of them lacks, in table order.
type lacking struct {
	keys    [][]any
	columns []string
}

// missingValue is a column a row of the batch lacks.
type missingValue struct{ row, col int }

// insert sends the changes as one INSERT. Each change becomes a row; the
// columns an upsert lacks get their stored values from old, or, when old
// is nil, insert sends nothing and returns what to read.
func (w *tableWrite) insert(ctx context.Context, c driver.Conn, changes []apply.Change, old map[string]stored) (*lacking, error) {
	batch, err := c.PrepareBatch(ctx, insertSQL(w.t))
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", w.name, err)
	}
	defer func() { _ = batch.Close() }()
	header := batch.Columns()
	if err := w.checkHeader(header); err != nil {
		return nil, err
	}
	if len(changes) == 0 {
		return nil, batch.Abort()
	}
	cols := make([]colValues, len(w.t.Columns))
	for j, col := range w.t.Columns {
		cols[j] = newValues(col.Type, w.types[j], header[j].ScanType(), len(changes))
	}
	missing, err := w.fill(cols, changes)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		if old == nil {
			return w.toRead(cols, missing), batch.Abort()
		}
		if err := w.fillStored(cols, missing, old); err != nil {
			return nil, err
		}
	}
	if err := w.appendTo(batch, cols, changes); err != nil {
		return nil, err
	}
	if err := batch.Send(); err != nil {
		return nil, fmt.Errorf("write %s: %w", w.name, err)
	}
	return nil, nil
}

// checkHeader checks the columns of the INSERT's block. It must hold
// exactly the named columns in their order: anything else means the
// statement was misread, and values would land in the wrong columns. A
// column whose type is not the one read before was changed outside apply:
// the table is read again on the retry.
func (w *tableWrite) checkHeader(header []column.Interface) error {
	names := make([]string, 0, len(w.t.Columns)+2)
	for _, col := range w.t.Columns {
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
		return fmt.Errorf("write %s: the insert block has columns %q, not %q", w.name, got, names)
	}
	for i := range w.t.Columns {
		if normalizeType(string(header[i].Type())) != normalizeType(w.types[i].full) {
			w.s.forget(tableKey{w.t.Database, w.t.Name})
			return apply.Retryable(fmt.Errorf("write %s: column %s is %s in the target, not %s (changed outside apply?); reading the table again",
				w.name, w.t.Columns[i].Name, header[i].Type(), w.types[i].full))
		}
	}
	return nil
}

// fill converts the changes into cols, a row per change: an upsert's
// values, a delete's key with the other columns at their defaults. It
// returns the columns upserts lack (rows written before the columns were
// added), which hold their defaults meanwhile.
func (w *tableWrite) fill(cols []colValues, changes []apply.Change) ([]missingValue, error) {
	var missing []missingValue
	for i, ch := range changes {
		for j, col := range w.t.Columns {
			if ch.Op == apply.Delete && !w.isKey[j] {
				cols[j].addDefault()
				continue
			}
			v, ok := ch.Row[col.Name]
			switch {
			case ok:
				if err := cols[j].add(v); err != nil {
					return nil, w.valueError(j, err)
				}
			case w.isKey[j]:
				return nil, fmt.Errorf("write %s: %w: a change lacks key column %s", w.name, errBadValue, col.Name)
			default:
				cols[j].addDefault()
				missing = append(missing, missingValue{i, j})
			}
		}
	}
	return missing, nil
}

// valueError wraps the error of a value of column j.
func (w *tableWrite) valueError(j int, err error) error {
	if w.isKey[j] {
		return fmt.Errorf("write %s: key column %s: %w", w.name, w.t.Columns[j].Name, err)
	}
	return fmt.Errorf("write %s: column %s: %w", w.name, w.t.Columns[j].Name, err)
}

// toRead returns what to read for the missing values: the keys of their
// rows and their columns.
func (w *tableWrite) toRead(cols []colValues, missing []missingValue) *lacking {
	lack := &lacking{}
	fetch := make([]bool, len(w.t.Columns))
	last := -1
	for _, m := range missing {
		fetch[m.col] = true
		if m.row != last { // a row's missing values are together
			lack.keys = append(lack.keys, w.keyOf(cols, m.row))
			last = m.row
		}
	}
	for j, col := range w.t.Columns {
		if fetch[j] {
			lack.columns = append(lack.columns, col.Name)
		}
	}
	return lack
}

// keyOf returns the converted key of row i.
func (w *tableWrite) keyOf(cols []colValues, i int) []any {
	key := make([]any, len(w.keyIdx))
	for k, idx := range w.keyIdx {
		key[k] = cols[idx].value(i)
	}
	return key
}

// fillStored gives the columns upserts lack the values of the stored row
// of their key, where it is live; elsewhere they keep their defaults.
func (w *tableWrite) fillStored(cols []colValues, missing []missingValue, old map[string]stored) error {
	last := -1
	var st stored
	var found bool
	for _, m := range missing {
		if m.row != last { // a row's missing values are together
			st, found = old[keyString(w.keyOf(cols, m.row), w.keyTypes)]
			last = m.row
		}
		if !found || st.deleted {
			continue
		}
		name := w.t.Columns[m.col].Name
		if err := cols[m.col].setStored(m.row, st.values[name]); err != nil {
			return fmt.Errorf("write %s: column %s: %w", w.name, name, err)
		}
	}
	return nil
}

// appendTo appends the columns to the batch, with the changes' versions
// and deleted flags.
func (w *tableWrite) appendTo(batch driver.Batch, cols []colValues, changes []apply.Change) error {
	for j, col := range cols {
		if err := col.appendTo(batch.Column(j)); err != nil {
			return fmt.Errorf("write %s: column %s: %w: %w", w.name, w.t.Columns[j].Name, errBadValue, err)
		}
	}
	versions := make([]uint64, len(changes))
	deleted := make([]uint8, len(changes))
	for i, ch := range changes {
		versions[i] = uint64(ch.Version)
		if ch.Op == apply.Delete {
			deleted[i] = 1
		}
	}
	header := batch.Columns()
	n := len(cols)
	if err := appendAll(batch.Column(n), header[n].Type(), "UInt64", versions); err != nil {
		return fmt.Errorf("write %s: column %s: %w: %w", w.name, apply.VersionColumn, errBadValue, err)
	}
	if err := appendAll(batch.Column(n+1), header[n+1].Type(), "UInt8", deleted); err != nil {
		return fmt.Errorf("write %s: column %s: %w: %w", w.name, DeletedColumn, errBadValue, err)
	}
	return nil
}

// appendAll appends vals to a batch's column of type typ: at once when it
// is the type whose Go values they are, else value by value, as the driver
// converts them.
func appendAll[T any](bc driver.BatchColumn, typ, of column.Type, vals []T) error {
	if typ == of {
		return bc.Append(vals)
	}
	for _, v := range vals {
		if err := bc.AppendRow(v); err != nil {
			return err
		}
	}
	return nil
}

// newer reads the stored rows of the changes' keys, with the columns any
// upsert lacks, and leaves out the changes older than them: the table's
// engine does not order by the version column.
func (w *tableWrite) newer(ctx context.Context, c driver.Conn, changes []apply.Change) ([]apply.Change, map[string]stored, error) {
	keys, err := w.keys(changes)
	if err != nil {
		return nil, nil, err
	}
	fetch := make([]bool, len(w.t.Columns))
	for _, ch := range changes {
		if ch.Op != apply.Upsert {
			continue
		}
		for j, col := range w.t.Columns {
			if _, ok := ch.Row[col.Name]; !ok {
				fetch[j] = true
			}
		}
	}
	var fetchCols []string
	for j, col := range w.t.Columns {
		if fetch[j] {
			fetchCols = append(fetchCols, col.Name)
		}
	}
	old, err := readStored(ctx, c, w.t, w.keyIdx, w.keyTypes, keys, fetchCols)
	if err != nil {
		return nil, nil, fmt.Errorf("write %s: %w", w.name, err)
	}
	kept := make([]apply.Change, 0, len(changes))
	for i, ch := range changes {
		if st, found := old[keyString(keys[i], w.keyTypes)]; found && st.version > uint64(ch.Version) {
			continue // older than the stored row: it loses
		}
		kept = append(kept, ch)
	}
	return kept, old, nil
}

// keys returns the converted key of each change, converted as a batch's
// columns are: one column of values per key column.
func (w *tableWrite) keys(changes []apply.Change) ([][]any, error) {
	cols := make([]colValues, len(w.keyIdx))
	for k, idx := range w.keyIdx {
		cols[k] = newValues(w.t.Columns[idx].Type, w.keyTypes[k], nil, len(changes))
	}
	for _, ch := range changes {
		for k, idx := range w.keyIdx {
			col := w.t.Columns[idx]
			v, ok := ch.Row[col.Name]
			if !ok {
				return nil, fmt.Errorf("write %s: %w: a change lacks key column %s", w.name, errBadValue, col.Name)
			}
			if err := cols[k].add(v); err != nil {
				return nil, fmt.Errorf("write %s: key column %s: %w", w.name, col.Name, err)
			}
		}
	}
	keys := make([][]any, len(changes))
	for i := range changes {
		key := make([]any, len(cols))
		for k, c := range cols {
			key[k] = c.value(i)
		}
		keys[i] = key
	}
	return keys, nil
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

// readStored reads the stored row (FINAL) of keys (converted): version,
// deleted flag and the columns fetch. The keys travel as the external
// table _syncline_keys; the result is indexed by keyString.
func readStored(ctx context.Context, c driver.Conn, t schema.Table, keyIdx []int, keyTypes []chType, keys [][]any, fetch []string) (map[string]stored, error) {
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
	for _, key := range keys {
		if err := et.Append(key...); err != nil {
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
