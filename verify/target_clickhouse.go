package verify

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
	applych "github.com/syncline/syncline/internal/target/clickhouse"
	"github.com/syncline/syncline/schema"
)

// chTarget reads a ClickHouse target. Apply's tables are
// ReplacingMergeTree(_syncline_version) with the flag
// _syncline_is_deleted, so rows are read with FINAL (the newest version of
// each key) and the deleted ones left out; the flag is read and filtered
// here, never in the query, so that no PREWHERE can filter before FINAL.
// Values are mapped back by the source column's type and the target
// column's type, in both the integer forms of servers before 22.8 (DATE as
// Int32 days, DATETIME and TIMESTAMP(p) as Int64 microseconds, DECIMAL
// beyond 38 digits as String) and the native forms (Date32, DateTime64,
// Decimal) of newer ones (docs/targets.md, ClickHouse).
type chTarget struct {
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

func (c *chTarget) connect(ctx context.Context) error {
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

func (c *chTarget) close() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
}

func (c *chTarget) open(ctx context.Context, p *plan) (targetTable, error) {
	if err := c.connect(ctx); err != nil {
		return nil, err
	}
	names, err := ext.NewTable(chNamesTable, ext.Column("db", "String"), ext.Column("tbl", "String"))
	if err != nil {
		return nil, err
	}
	if err := names.Append(p.tdb, p.tname); err != nil {
		return nil, err
	}
	rows, err := c.conn.Query(clickhouse.Context(ctx, clickhouse.WithExternalTable(names)),
		"SELECT name, type FROM system.columns WHERE (database, table) IN (SELECT db, tbl FROM "+chNamesTable+")")
	if err != nil {
		return nil, fmt.Errorf("target: read the columns of %s: %w", p.targetName(), err)
	}
	types := map[string]string{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			rows.Close()
			return nil, fmt.Errorf("target: read the columns of %s: %w", p.targetName(), err)
		}
		types[name] = typ
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("target: read the columns of %s: %w", p.targetName(), err)
	}
	if len(types) == 0 {
		return nil, fmt.Errorf("%s: %w", p.targetName(), errMissingTable)
	}
	ct := &chTable{db: c, p: p, from: " FROM " + chQuote(p.tdb) + "." + chQuote(p.tname)}
	if _, ok := types[applych.DeletedColumn]; ok {
		ct.from += " FINAL"
		ct.deleted = true
	}
	var sel []string
	for _, col := range p.cols {
		typ, ok := types[col.target]
		if !ok {
			return nil, fmt.Errorf("column %s of %s is not in the target (the mapping of %s gives it)", col.target, p.targetName(), p.name())
		}
		t := parseCHType(typ)
		if !chCompatible(t.family, col.src.Type) {
			return nil, badColumn(p, col, typ)
		}
		ct.types = append(ct.types, t)
		sel = append(sel, chQuote(col.target))
	}
	for _, kc := range p.keyCol {
		ct.keyNames = append(ct.keyNames, chQuote(p.cols[kc].target))
	}
	if ct.deleted {
		sel = append(sel, chQuote(applych.DeletedColumn))
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

// chType is a ClickHouse column type, parsed.
type chType struct {
	full   string // as the server prints it
	base   string // without Nullable and LowCardinality
	family string // Int32, Decimal, DateTime64, ...
}

func parseCHType(full string) chType {
	t := chType{full: full}
	s := strings.TrimSpace(full)
	for _, wrap := range []string{"Nullable(", "LowCardinality(", "Nullable("} {
		if strings.HasPrefix(s, wrap) && strings.HasSuffix(s, ")") {
			s = s[len(wrap) : len(s)-1]
		}
	}
	t.base, t.family = s, s
	if i := strings.IndexByte(s, '('); i >= 0 {
		t.family = s[:i]
	}
	if strings.HasPrefix(t.family, "Decimal") {
		t.family = "Decimal"
	}
	return t
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

// chTable reads one ClickHouse target table.
type chTable struct {
	db       *chTarget
	p        *plan
	from     string
	list     string
	types    []chType // of the compared columns
	keyNames []string // quoted
	deleted  bool     // the table has the deleted flag (and is read FINAL)
}

// keyTable builds an external table named name whose columns prefix0..
// have the key columns' types, holding the given keys.
func (ct *chTable) keyTable(name, prefix string, keys ...[]any) (*ext.Table, []string, error) {
	cols := make([]func(*ext.Table) error, len(ct.p.keyCol))
	names := make([]string, len(ct.p.keyCol))
	for i, c := range ct.p.keyCol {
		names[i] = prefix + strconv.Itoa(i)
		cols[i] = ext.Column(names[i], column.Type(ct.types[c].base))
	}
	t, err := ext.NewTable(name, cols...)
	if err != nil {
		return nil, nil, err
	}
	for _, k := range keys {
		vals := make([]any, len(k))
		for i, v := range k {
			c := ct.p.cols[ct.p.keyCol[i]]
			if vals[i], err = applych.Param(toChange(v, c.src.Type), c.src.Type, ct.types[ct.p.keyCol[i]].base); err != nil {
				return nil, nil, fmt.Errorf("target %s: key column %s: %w", ct.p.targetName(), c.src.Name, err)
			}
		}
		if err := t.Append(vals...); err != nil {
			return nil, nil, fmt.Errorf("target %s: send key: %w", ct.p.targetName(), err)
		}
	}
	return t, names, nil
}

// rangeCond returns the condition lo < key <= hi and the context carrying
// its bounds.
func (ct *chTable) rangeCond(ctx context.Context, lo, hi []any) (context.Context, string, error) {
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
		conds = append(conds, tuple(ct.keyNames)+b.op+"(SELECT "+strings.Join(names, ", ")+" FROM "+b.name+")")
	}
	if len(conds) == 0 {
		return ctx, "", nil
	}
	return clickhouse.Context(ctx, clickhouse.WithExternalTable(tables...)), " WHERE " + strings.Join(conds, " AND "), nil
}

func (ct *chTable) rows(ctx context.Context, lo, hi []any, fn func(row) error) error {
	qctx, cond, err := ct.rangeCond(ctx, lo, hi)
	if err != nil {
		return err
	}
	return ct.stream(qctx, "SELECT "+ct.list+ct.from+cond+" ORDER BY "+strings.Join(ct.keyNames, ", "), fn)
}

func (ct *chTable) rowsByKeys(ctx context.Context, keys [][]any, fn func(row) error) error {
	if len(keys) == 0 {
		return nil
	}
	t, names, err := ct.keyTable(chKeysTable, "k", keys...)
	if err != nil {
		return err
	}
	q := "SELECT " + ct.list + ct.from + " WHERE " + tuple(ct.keyNames) + " IN (SELECT " + strings.Join(names, ", ") + " FROM " + chKeysTable + ")"
	return ct.stream(clickhouse.Context(ctx, clickhouse.WithExternalTable(t)), q, fn)
}

// scan reads the rows of a query, each as its values in the driver's scan
// types without the deleted flag, and hands them to fn with the flag.
func (ct *chTable) scan(ctx context.Context, q string, fn func(vals []any, deleted bool) error) error {
	if err := ct.db.connect(ctx); err != nil {
		return err
	}
	rows, err := ct.db.conn.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("target: read %s: %w", ct.p.targetName(), err)
	}
	defer rows.Close()
	colTypes := rows.ColumnTypes()
	for rows.Next() {
		ptrs := make([]any, len(colTypes))
		for i, c := range colTypes {
			ptrs[i] = reflect.New(c.ScanType()).Interface()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("target: read %s: %w", ct.p.targetName(), err)
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
		return fmt.Errorf("target: read %s: %w", ct.p.targetName(), err)
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

func (ct *chTable) stream(ctx context.Context, q string, fn func(row) error) error {
	return ct.scan(ctx, q, func(vals []any, deleted bool) error {
		if deleted {
			return nil
		}
		for i, c := range ct.p.cols {
			v, err := fromCH(vals[i], c.src.Type, ct.types[i])
			if err != nil {
				return fmt.Errorf("target: read %s column %s: %w", ct.p.targetName(), c.target, err)
			}
			vals[i] = v
		}
		r, err := ct.p.targetRow(vals)
		if err != nil {
			return err
		}
		return fn(r)
	})
}

func (ct *chTable) keys(ctx context.Context, after []any, n int) ([][]any, []any, error) {
	qctx, cond, err := ct.rangeCond(ctx, after, nil)
	if err != nil {
		return nil, nil, err
	}
	sel := append([]string{}, ct.keyNames...)
	if ct.deleted {
		sel = append(sel, chQuote(applych.DeletedColumn))
	}
	q := "SELECT " + strings.Join(sel, ", ") + ct.from + cond + " ORDER BY " + strings.Join(ct.keyNames, ", ") + " LIMIT " + strconv.Itoa(n)
	var out [][]any
	var last []any
	read := 0
	err = ct.scan(qctx, q, func(vals []any, deleted bool) error {
		key := make([]any, len(vals))
		for i, kc := range ct.p.keyCol {
			v, err := fromCH(vals[i], ct.p.cols[kc].src.Type, ct.types[kc])
			if err != nil {
				return fmt.Errorf("target: read keys of %s: %w", ct.p.targetName(), err)
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

func (*chTable) canChecksum() bool { return false }

func (*chTable) checksum(context.Context, []any, []any) (mysqlSum, error) {
	return mysqlSum{}, errors.New("no checksums on this target")
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
			return integerValue(big.NewInt(1), t)
		}
		return integerValue(big.NewInt(0), t)
	case float32:
		return floatValue(float64(x), t), nil
	case float64:
		return floatValue(x, t), nil
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
		return addressValue(x, t)
	case time.Time:
		return chTime(x, t)
	case netip.Addr:
		return addrValue(x, t)
	case net.IP:
		a, ok := netip.AddrFromSlice(x)
		if !ok {
			return nil, fmt.Errorf("%v is not an IP address", x)
		}
		return addrValue(a, t)
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
		return integerValue(r.Num(), t)
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
	return integerValue(n, t)
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
