package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/big"
	"net"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/target/verifyread"
	"github.com/syncline/syncline/schema"
)

// Reader is syncline verify's reader of a ClickHouse target
// (verifyread.Reader). Apply's tables are
// ReplacingMergeTree(_syncline_version) with the flag
// _syncline_is_deleted, so rows are read with FINAL (the newest version of
// each key) and the deleted ones left out; the flag is read and filtered
// here, never in the query, so that no PREWHERE can filter before FINAL.
// Values are mapped back by the source column's type and the target
// column's type, in both the integer forms of servers before 22.8 (DATE as
// Int32 days, DATETIME and TIMESTAMP(p) as Int64 microseconds, DECIMAL
// beyond 38 digits as String) and the native forms (Date32, DateTime64,
// Decimal) of newer ones (docs/targets.md, ClickHouse).
type Reader struct {
	ep      endpoint.Endpoint
	timeout time.Duration
	log     *slog.Logger
	conn    driver.Conn
}

// External tables that carry keys and bounds into queries: ClickHouse
// before 20.x has no query parameters, and values are never pasted into
// SQL.
const (
	chNamesTable  = "_syncline_names"
	chKeysTable   = "_syncline_keys"
	chBoundsTable = "_syncline_bounds"
)

// NewReader returns the reader of the target ep; timeout bounds its
// connection, log receives its warnings. It does no I/O.
func NewReader(ep endpoint.Endpoint, timeout time.Duration, log *slog.Logger) *Reader {
	return &Reader{ep: ep, timeout: timeout, log: log}
}

var _ verifyread.Reader = (*Reader)(nil)

func (c *Reader) connect(ctx context.Context) error {
	if c.conn != nil {
		return nil
	}
	conn, err := endpoint.OpenClickHouse(ctx, c.ep, c.timeout)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	c.conn = conn
	return nil
}

// NormalizesJSON is false: ClickHouse keeps JSON as the source's text.
func (c *Reader) NormalizesJSON() bool { return false }

// Close closes the reader's connection.
func (c *Reader) Close() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
}

// Open checks that vt's table and compared columns exist in the target.
func (c *Reader) Open(ctx context.Context, vt *verifyread.Table) (verifyread.TableReader, error) {
	if err := c.connect(ctx); err != nil {
		return nil, err
	}
	names, err := ext.NewTable(chNamesTable, ext.Column("db", "String"), ext.Column("tbl", "String"))
	if err != nil {
		return nil, err
	}
	if err := names.Append(vt.Database, vt.Name); err != nil {
		return nil, err
	}
	rows, err := c.conn.Query(clickhouse.Context(ctx, clickhouse.WithExternalTable(names)),
		"SELECT name, type FROM system.columns WHERE (database, table) IN (SELECT db, tbl FROM "+chNamesTable+")")
	if err != nil {
		return nil, fmt.Errorf("target: read the columns of %s: %w", vt.TargetName(), err)
	}
	types := map[string]string{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			rows.Close()
			return nil, fmt.Errorf("target: read the columns of %s: %w", vt.TargetName(), err)
		}
		types[name] = typ
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("target: read the columns of %s: %w", vt.TargetName(), err)
	}
	if len(types) == 0 {
		return nil, fmt.Errorf("%s: %w", vt.TargetName(), verifyread.ErrMissingTable)
	}
	ct := &readerTable{db: c, vt: vt, from: " FROM " + chQuote(vt.Database) + "." + chQuote(vt.Name)}
	if _, ok := types[DeletedColumn]; ok {
		ct.from += " FINAL"
		ct.deleted = true
	}
	var sel []string
	for _, col := range vt.Columns {
		typ, ok := types[col.Target]
		if !ok {
			return nil, fmt.Errorf("column %s of %s is not in the target (the mapping of %s gives it)", col.Target, vt.TargetName(), vt.Source)
		}
		t := parseType(typ)
		if !chCompatible(t.family, col.Source.Type) {
			return nil, vt.BadColumn(col, typ)
		}
		ct.types = append(ct.types, t)
		sel = append(sel, chQuote(col.Target))
	}
	for _, kc := range vt.Key {
		ct.keyNames = append(ct.keyNames, chQuote(vt.Columns[kc].Target))
	}
	if ct.deleted {
		sel = append(sel, chQuote(DeletedColumn))
	}
	ct.list = strings.Join(sel, ", ")
	return ct, nil
}

// chQuote quotes an identifier with backticks, escaping backslashes and
// backticks with a backslash, as ClickHouse reads them.
func chQuote(name string) string {
	var b strings.Builder
	b.WriteByte('`')
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '\\' || c == '`' {
			b.WriteByte('\\')
		}
		b.WriteByte(name[i])
	}
	b.WriteByte('`')
	return b.String()
}

// chCompatible reports whether a ClickHouse type family holds a source
// type in a form verify maps back (apply's mappings, docs/targets.md).
func chCompatible(family string, t schema.Type) bool {
	integer := strings.HasPrefix(family, "Int") || strings.HasPrefix(family, "UInt")
	switch k := t.Kind; {
	case k.IsInteger(), k == schema.Year, k == schema.Bit, k == schema.Time:
		return integer || family == "Bool"
	case k == schema.Decimal:
		return family == "Decimal" || family == "String"
	case k == schema.Float, k == schema.Double:
		return family == "Float32" || family == "Float64"
	case k == schema.UUID:
		return family == "UUID" || family == "String" || family == "FixedString"
	case k == schema.Inet4:
		return family == "IPv4" || family == "String" || family == "FixedString"
	case k == schema.Inet6:
		return family == "IPv6" || family == "String" || family == "FixedString"
	case k.IsString(), k.IsBinary(), k.IsGeometry():
		return family == "String" || family == "FixedString"
	case k == schema.Date:
		return family == "Int32" || family == "Date32" || family == "Date"
	case k == schema.DateTime, k == schema.Timestamp:
		return family == "Int64" || family == "DateTime64" || family == "DateTime"
	}
	return false
}

// readerTable reads one ClickHouse target table.
type readerTable struct {
	db       *Reader
	vt       *verifyread.Table
	from     string
	list     string
	types    []chType // of the compared columns
	keyNames []string // quoted
	deleted  bool     // the table has the deleted flag (and is read FINAL)
}

// keyTable builds an external table named name whose columns prefix0..
// have the key columns' types, holding the given keys.
func (ct *readerTable) keyTable(name, prefix string, keys ...[]any) (*ext.Table, []string, error) {
	cols := make([]func(*ext.Table) error, len(ct.vt.Key))
	names := make([]string, len(ct.vt.Key))
	keyTypes := make([]chType, len(ct.vt.Key)) // the external table's: without Nullable and LowCardinality
	for i, c := range ct.vt.Key {
		names[i] = prefix + strconv.Itoa(i)
		keyTypes[i] = parseType(ct.types[c].base)
		cols[i] = ext.Column(names[i], column.Type(keyTypes[i].full))
	}
	t, err := ext.NewTable(name, cols...)
	if err != nil {
		return nil, nil, err
	}
	for _, k := range keys {
		vals := make([]any, len(k))
		for i, v := range k {
			c := ct.vt.Columns[ct.vt.Key[i]]
			if vals[i], err = convert(verifyread.ToChange(v, c.Source.Type), c.Source.Type, keyTypes[i]); err != nil {
				return nil, nil, fmt.Errorf("target %s: key column %s: %w", ct.vt.TargetName(), c.Source.Name, err)
			}
		}
		if err := t.Append(vals...); err != nil {
			return nil, nil, fmt.Errorf("target %s: send key: %w", ct.vt.TargetName(), err)
		}
	}
	return t, names, nil
}

// rangeCond returns the condition lo < key <= hi and the context carrying
// its bounds.
func (ct *readerTable) rangeCond(ctx context.Context, lo, hi []any) (context.Context, string, error) {
	var conds []string
	var tables []*ext.Table
	for _, b := range []struct {
		vals        []any
		name, op    string
		columnNames string
	}{{lo, chBoundsTable + "_lo", " > ", "lo"}, {hi, chBoundsTable + "_hi", " <= ", "hi"}} {
		if b.vals == nil {
			continue
		}
		t, names, err := ct.keyTable(b.name, b.columnNames, b.vals)
		if err != nil {
			return nil, "", err
		}
		tables = append(tables, t)
		conds = append(conds, verifyread.Tuple(ct.keyNames)+b.op+"(SELECT "+strings.Join(names, ", ")+" FROM "+b.name+")")
	}
	if len(conds) == 0 {
		return ctx, "", nil
	}
	return clickhouse.Context(ctx, clickhouse.WithExternalTable(tables...)), " WHERE " + strings.Join(conds, " AND "), nil
}

func (ct *readerTable) Rows(ctx context.Context, lo, hi []any, fn func([]any) error) error {
	qctx, cond, err := ct.rangeCond(ctx, lo, hi)
	if err != nil {
		return err
	}
	return ct.stream(qctx, "SELECT "+ct.list+ct.from+cond+" ORDER BY "+strings.Join(ct.keyNames, ", "), fn)
}

func (ct *readerTable) RowsByKeys(ctx context.Context, keys [][]any, fn func([]any) error) error {
	if len(keys) == 0 {
		return nil
	}
	t, names, err := ct.keyTable(chKeysTable, "k", keys...)
	if err != nil {
		return err
	}
	q := "SELECT " + ct.list + ct.from + " WHERE " + verifyread.Tuple(ct.keyNames) + " IN (SELECT " + strings.Join(names, ", ") + " FROM " + chKeysTable + ")"
	return ct.stream(clickhouse.Context(ctx, clickhouse.WithExternalTable(t)), q, fn)
}

// scan reads the rows of a query, each as its values in the driver's scan
// types without the deleted flag, and hands them to fn with the flag.
func (ct *readerTable) scan(ctx context.Context, q string, fn func(vals []any, deleted bool) error) error {
	if err := ct.db.connect(ctx); err != nil {
		return err
	}
	rows, err := ct.db.conn.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("target: read %s: %w", ct.vt.TargetName(), err)
	}
	defer rows.Close()
	colTypes := rows.ColumnTypes()
	for rows.Next() {
		ptrs := make([]any, len(colTypes))
		for i, c := range colTypes {
			ptrs[i] = reflect.New(c.ScanType()).Interface()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("target: read %s: %w", ct.vt.TargetName(), err)
		}
		vals := make([]any, len(ptrs))
		for i, p := range ptrs {
			vals[i] = deref(reflect.ValueOf(p).Elem())
		}
		deleted := false
		if ct.deleted {
			n := len(vals) - 1
			flag, _ := vals[n].(uint8)
			deleted, vals = flag != 0, vals[:n]
		}
		if err := fn(vals, deleted); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("target: read %s: %w", ct.vt.TargetName(), err)
	}
	return nil
}

// deref returns the value v holds, following pointers (Nullable columns
// scan into pointers); nil for a nil pointer.
func deref(v reflect.Value) any {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	return v.Interface()
}

func (ct *readerTable) stream(ctx context.Context, q string, fn func([]any) error) error {
	return ct.scan(ctx, q, func(vals []any, deleted bool) error {
		if deleted {
			return nil
		}
		for i, c := range ct.vt.Columns {
			v, err := fromCH(vals[i], c.Source.Type, ct.types[i])
			if err != nil {
				return fmt.Errorf("target: read %s column %s: %w", ct.vt.TargetName(), c.Target, err)
			}
			vals[i] = v
		}
		return fn(vals)
	})
}

func (ct *readerTable) Keys(ctx context.Context, after []any, n int) ([][]any, []any, error) {
	qctx, cond, err := ct.rangeCond(ctx, after, nil)
	if err != nil {
		return nil, nil, err
	}
	sel := append([]string{}, ct.keyNames...)
	if ct.deleted {
		sel = append(sel, chQuote(DeletedColumn))
	}
	q := "SELECT " + strings.Join(sel, ", ") + ct.from + cond + " ORDER BY " + strings.Join(ct.keyNames, ", ") + " LIMIT " + strconv.Itoa(n)
	var out [][]any
	var last []any
	read := 0
	err = ct.scan(qctx, q, func(vals []any, deleted bool) error {
		key := make([]any, len(vals))
		for i, kc := range ct.vt.Key {
			v, err := fromCH(vals[i], ct.vt.Columns[kc].Source.Type, ct.types[kc])
			if err != nil {
				return fmt.Errorf("target: read keys of %s: %w", ct.vt.TargetName(), err)
			}
			key[i] = v
		}
		// The walk goes on after deleted rows too.
		last = key
		read++
		if !deleted {
			out = append(out, key)
		}
		return nil
	})
	if read < n {
		last = nil
	}
	return out, last, err
}

func (*readerTable) CanChecksum() bool { return false }

func (*readerTable) Checksum(context.Context, []any, []any) (verifyread.Sum, error) {
	return verifyread.Sum{}, errors.New("no checksums on this target")
}

// fromCH maps a value scanned from a ClickHouse column of type ct back
// into the comparison domain of a source column of type t.
func fromCH(v any, t schema.Type, ct chType) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch x := v.(type) {
	case int8, int16, int32, int64:
		return chInteger(new(big.Int).SetInt64(reflect.ValueOf(x).Int()), t)
	case uint8, uint16, uint32, uint64:
		return chInteger(new(big.Int).SetUint64(reflect.ValueOf(x).Uint()), t)
	case bool:
		if x {
			return verifyread.IntegerValue(big.NewInt(1), t)
		}
		return verifyread.IntegerValue(big.NewInt(0), t)
	case float32:
		return verifyread.FloatValue(float64(x), t), nil
	case float64:
		return verifyread.FloatValue(x, t), nil
	case string:
		switch k := t.Kind; {
		case k == schema.Decimal:
			r, ok := new(big.Rat).SetString(x)
			if !ok {
				return nil, fmt.Errorf("%q is not a decimal", x)
			}
			return r, nil
		case k.IsBinary(), k.IsGeometry():
			return []byte(x), nil
		}
		return verifyread.AddressValue(x, t)
	case time.Time:
		return chTime(x, t)
	case netip.Addr:
		return verifyread.AddrValue(x, t)
	case net.IP:
		a, ok := netip.AddrFromSlice(x)
		if !ok {
			return nil, fmt.Errorf("%v is not an IP address", x)
		}
		return verifyread.AddrValue(a, t)
	case fmt.Stringer: // the driver's decimal, or a UUID
		if t.Kind == schema.UUID {
			return x.String(), nil
		}
		r, ok := new(big.Rat).SetString(x.String())
		if !ok {
			return nil, fmt.Errorf("%q is not a decimal", x.String())
		}
		if t.Kind == schema.Decimal {
			return r, nil
		}
		if !r.IsInt() {
			return nil, fmt.Errorf("%s is not an integer, for a %s", r.RatString(), t)
		}
		return verifyread.IntegerValue(r.Num(), t)
	}
	return nil, fmt.Errorf("unexpected %T in a %s column", v, ct.full)
}

// chInteger maps an integer column: the integer forms of dates and times
// (DATE as days, DATETIME and TIMESTAMP as microseconds, with the zero-date
// sentinels), BIT as its number, else the integer itself.
func chInteger(n *big.Int, t schema.Type) (any, error) {
	switch t.Kind {
	case schema.Date:
		if !n.IsInt64() {
			return nil, fmt.Errorf("%s is not a date", n)
		}
		days := n.Int64()
		if days == math.MinInt32 {
			return schema.ZeroDate(), nil
		}
		return time.Unix(days*24*60*60, 0).UTC(), nil
	case schema.Timestamp:
		if !n.IsInt64() {
			return nil, fmt.Errorf("%s is not a timestamp", n)
		}
		if n.Int64() == math.MinInt64 {
			return schema.ZeroTimestamp(), nil
		}
		return time.UnixMicro(n.Int64()).UTC(), nil
	}
	return verifyread.IntegerValue(n, t)
}

// chTime maps Date, Date32, DateTime and DateTime64 values. A TIMESTAMP at
// 1970-01-01 00:00:00 UTC is MySQL's zero TIMESTAMP (docs/targets.md: no
// real TIMESTAMP can be).
func chTime(tm time.Time, t schema.Type) (any, error) {
	tm = tm.UTC()
	switch t.Kind {
	case schema.Date:
		y, m, d := tm.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
	case schema.DateTime:
		return tm.UnixMicro(), nil
	case schema.Timestamp:
		if tm.UnixMicro() == 0 {
			return schema.ZeroTimestamp(), nil
		}
		return tm.Truncate(time.Microsecond), nil
	}
	return nil, fmt.Errorf("a time for a %s column", t)
}
