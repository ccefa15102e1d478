package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/target/verifyread"
	"github.com/syncline/syncline/schema"
)

// Reader is syncline verify's reader of a PostgreSQL target
// (verifyread.Reader): each source database is a schema of
// the database named in the URL. Values are read in their PostgreSQL types
// and mapped back by the source column's type (docs/targets.md,
// PostgreSQL): smallint/integer/bigint and numeric(20,0) to the source's
// integers, bit(n) to BIT bytes, interval to TIME microseconds, -infinity
// to the zero dates, jsonb as its text (NormalizesJSON).
type Reader struct {
	ep      endpoint.Endpoint
	timeout time.Duration
	conn    *pgx.Conn
}

// NewReader returns the reader of the target ep; timeout bounds its
// connection. It does no I/O.
func NewReader(ep endpoint.Endpoint, timeout time.Duration) *Reader {
	return &Reader{ep: ep, timeout: timeout}
}

var _ verifyread.Reader = (*Reader)(nil)

func (g *Reader) connect(ctx context.Context) error {
	if g.conn != nil && !g.conn.IsClosed() {
		return nil
	}
	conn, err := endpoint.ConnectPostgres(ctx, g.ep, g.timeout)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if _, err := conn.Exec(ctx, "SET TIME ZONE 'UTC'"); err != nil {
		_ = conn.Close(context.Background())
		return fmt.Errorf("target %s: set time zone: %w", g.ep.Redacted(), err)
	}
	g.conn = conn
	return nil
}

// NormalizesJSON is true: jsonb keeps neither the key order, the
// whitespace nor duplicate keys of the source's text.
func (g *Reader) NormalizesJSON() bool { return true }

// Close closes the reader's connection.
func (g *Reader) Close() {
	if g.conn != nil {
		_ = g.conn.Close(context.Background())
		g.conn = nil
	}
}

const pgColumnsQuery = `SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped`

// Open checks that vt's table and compared columns exist in the target.
func (g *Reader) Open(ctx context.Context, vt *verifyread.Table) (verifyread.TableReader, error) {
	if err := g.connect(ctx); err != nil {
		return nil, err
	}
	rows, err := g.conn.Query(ctx, pgColumnsQuery, vt.Database, vt.Name)
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
	pt := &readerTable{db: g, vt: vt, from: " FROM " + pgx.Identifier{vt.Database, vt.Name}.Sanitize()}
	var sel []string
	for _, c := range vt.Columns {
		typ, ok := types[c.Target]
		if !ok {
			return nil, fmt.Errorf("column %s of %s is not in the target (the mapping of %s gives it)", c.Target, vt.TargetName(), vt.Source)
		}
		k := KindOf(typ)
		if !pgCompatible(k, c.Source.Type) {
			return nil, vt.BadColumn(c, typ)
		}
		q := pgx.Identifier{c.Target}.Sanitize()
		switch k {
		case KindJSON, KindUUID:
			q += "::text"
		case KindInet:
			q = "host(" + q + ")"
		}
		sel = append(sel, q)
		pt.types = append(pt.types, typ)
		pt.kinds = append(pt.kinds, k)
	}
	pt.list = strings.Join(sel, ", ")
	for _, c := range vt.Key {
		pt.keyNames = append(pt.keyNames, pgx.Identifier{vt.Columns[c].Target}.Sanitize())
	}
	return pt, nil
}

// pgCompatible reports whether a PostgreSQL type family holds a source type
// in a form verify maps back (apply's mapping, docs/targets.md).
func pgCompatible(k Kind, t schema.Type) bool {
	switch sk := t.Kind; {
	case sk.IsInteger(), sk == schema.Year:
		return k == KindInt || k == KindNumeric
	case sk == schema.Decimal:
		return k == KindNumeric
	case sk == schema.Float, sk == schema.Double:
		return k == KindReal || k == KindDouble
	case sk == schema.Bit:
		return k == KindBit
	case sk == schema.JSON:
		return k == KindJSON || k == KindText
	case sk == schema.UUID:
		return k == KindUUID || k == KindText
	case sk == schema.Inet4, sk == schema.Inet6:
		return k == KindInet || k == KindText
	case sk.IsString():
		return k == KindText
	case sk.IsBinary(), sk.IsGeometry():
		return k == KindBytea
	case sk == schema.Date:
		return k == KindDate
	case sk == schema.DateTime:
		return k == KindTimestamp
	case sk == schema.Timestamp:
		return k == KindTimestamptz
	case sk == schema.Time:
		return k == KindInterval
	}
	return false
}

// readerTable reads one PostgreSQL target table.
type readerTable struct {
	db       *Reader
	vt       *verifyread.Table
	from     string
	list     string   // select list of the compared columns
	types    []string // their format_type
	kinds    []Kind
	keyNames []string // quoted key columns
}

// params converts key values into parameters numbered from $next.
func (pt *readerTable) params(keys []any, next int) ([]string, []any, error) {
	marks := make([]string, len(keys))
	args := make([]any, len(keys))
	for i, v := range keys {
		c := pt.vt.Key[i]
		src := pt.vt.Columns[c].Source
		a, err := arg(verifyread.ToChange(v, src.Type), pt.types[c])
		if err != nil {
			return nil, nil, fmt.Errorf("target %s: key column %s: %w", pt.vt.TargetName(), src.Name, err)
		}
		marks[i] = "$" + strconv.Itoa(next+i)
		args[i] = a
	}
	return marks, args, nil
}

// rangeCond returns lo < key <= hi and its parameters.
func (pt *readerTable) rangeCond(lo, hi []any) (string, []any, error) {
	var conds []string
	var args []any
	for _, b := range []struct {
		vals []any
		op   string
	}{{lo, " > "}, {hi, " <= "}} {
		if b.vals == nil {
			continue
		}
		marks, ps, err := pt.params(b.vals, len(args)+1)
		if err != nil {
			return "", nil, err
		}
		conds = append(conds, verifyread.Tuple(pt.keyNames)+b.op+verifyread.Tuple(marks))
		args = append(args, ps...)
	}
	if len(conds) == 0 {
		return "", nil, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

func (pt *readerTable) Rows(ctx context.Context, lo, hi []any, fn func([]any) error) error {
	cond, args, err := pt.rangeCond(lo, hi)
	if err != nil {
		return err
	}
	return pt.stream(ctx, "SELECT "+pt.list+pt.from+cond+" ORDER BY "+strings.Join(pt.keyNames, ", "), args, fn)
}

func (pt *readerTable) RowsByKeys(ctx context.Context, keys [][]any, fn func([]any) error) error {
	if len(keys) == 0 {
		return nil
	}
	list := make([]string, len(keys))
	var args []any
	for i, k := range keys {
		marks, ps, err := pt.params(k, len(args)+1)
		if err != nil {
			return err
		}
		list[i] = verifyread.Tuple(marks)
		args = append(args, ps...)
	}
	return pt.stream(ctx, "SELECT "+pt.list+pt.from+" WHERE "+verifyread.Tuple(pt.keyNames)+" IN ("+strings.Join(list, ", ")+")", args, fn)
}

func (pt *readerTable) stream(ctx context.Context, q string, args []any, fn func([]any) error) error {
	if err := pt.db.connect(ctx); err != nil {
		return err
	}
	rows, err := pt.db.conn.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("target: read %s: %w", pt.vt.TargetName(), err)
	}
	defer rows.Close()
	dest := make([]any, len(pt.kinds))
	vals := make([]any, len(pt.kinds))
	for rows.Next() {
		for i, k := range pt.kinds {
			dest[i] = pgDest(k)
		}
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("target: read %s: %w", pt.vt.TargetName(), err)
		}
		for i, d := range dest {
			c := pt.vt.Columns[i]
			v, err := fromPG(d, c.Source.Type)
			if err != nil {
				return fmt.Errorf("target: read %s column %s: %w", pt.vt.TargetName(), c.Target, err)
			}
			vals[i] = v
		}
		if err := fn(vals); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("target: read %s: %w", pt.vt.TargetName(), err)
	}
	return nil
}

func (pt *readerTable) Keys(ctx context.Context, after []any, n int) ([][]any, []any, error) {
	if err := pt.db.connect(ctx); err != nil {
		return nil, nil, err
	}
	cond, args, err := pt.rangeCond(after, nil)
	if err != nil {
		return nil, nil, err
	}
	list := make([]string, len(pt.keyNames))
	for i, c := range pt.vt.Key {
		list[i] = pt.keyNames[i]
		if pt.kinds[c] == KindJSON {
			list[i] += "::text"
		}
	}
	q := "SELECT " + strings.Join(list, ", ") + pt.from + cond + " ORDER BY " + strings.Join(pt.keyNames, ", ") + " LIMIT " + strconv.Itoa(n)
	rows, err := pt.db.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("target: read keys of %s: %w", pt.vt.TargetName(), err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		dest := make([]any, len(pt.vt.Key))
		for i, c := range pt.vt.Key {
			dest[i] = pgDest(pt.kinds[c])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, nil, fmt.Errorf("target: read keys of %s: %w", pt.vt.TargetName(), err)
		}
		key := make([]any, len(dest))
		for i, c := range pt.vt.Key {
			if key[i], err = fromPG(dest[i], pt.vt.Columns[c].Source.Type); err != nil {
				return nil, nil, fmt.Errorf("target: read keys of %s: %w", pt.vt.TargetName(), err)
			}
		}
		out = append(out, key)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("target: read keys of %s: %w", pt.vt.TargetName(), err)
	}
	return out, verifyread.NextAfter(out, n), nil
}

func (*readerTable) CanChecksum() bool { return false }

func (*readerTable) Checksum(context.Context, []any, []any) (verifyread.Sum, error) {
	return verifyread.Sum{}, errors.New("no checksums on this target")
}

// pgDest returns the scan destination of a column family.
func pgDest(k Kind) any {
	switch k {
	case KindInt:
		return new(pgtype.Int8)
	case KindNumeric:
		return new(pgtype.Numeric)
	case KindReal:
		return new(pgtype.Float4)
	case KindDouble:
		return new(pgtype.Float8)
	case KindBit:
		return new(pgtype.Bits)
	case KindBytea:
		return new([]byte)
	case KindDate:
		return new(pgtype.Date)
	case KindTimestamp:
		return new(pgtype.Timestamp)
	case KindTimestamptz:
		return new(pgtype.Timestamptz)
	case KindInterval:
		return new(pgtype.Interval)
	}
	return new(pgtype.Text)
}

// fromPG maps a scanned PostgreSQL value back into the comparison domain
// of a source column of type t.
func fromPG(d any, t schema.Type) (any, error) {
	switch x := d.(type) {
	case *pgtype.Int8:
		if !x.Valid {
			return nil, nil
		}
		return verifyread.IntegerValue(new(big.Int).SetInt64(x.Int64), t)
	case *pgtype.Numeric:
		if !x.Valid {
			return nil, nil
		}
		if x.NaN || x.InfinityModifier != pgtype.Finite || x.Int == nil {
			return nil, errors.New("numeric value is not a number")
		}
		r := new(big.Rat).SetInt(x.Int)
		if x.Exp > 0 {
			r.Mul(r, new(big.Rat).SetInt(verifyread.Pow10(int(x.Exp))))
		} else if x.Exp < 0 {
			r.Quo(r, new(big.Rat).SetInt(verifyread.Pow10(int(-x.Exp))))
		}
		if t.Kind == schema.Decimal {
			return r, nil
		}
		if !r.IsInt() {
			return nil, fmt.Errorf("%s is not an integer, for a %s", r.RatString(), t)
		}
		return verifyread.IntegerValue(r.Num(), t)
	case *pgtype.Float4:
		if !x.Valid {
			return nil, nil
		}
		return verifyread.FloatValue(float64(x.Float32), t), nil
	case *pgtype.Float8:
		if !x.Valid {
			return nil, nil
		}
		return verifyread.FloatValue(x.Float64, t), nil
	case *pgtype.Bits:
		if !x.Valid {
			return nil, nil
		}
		v := new(big.Int).SetBytes(x.Bytes)
		v.Rsh(v, uint(8*len(x.Bytes)-int(x.Len)))
		return verifyread.BitBytes(v, t)
	case *[]byte:
		if *x == nil {
			return nil, nil
		}
		return *x, nil
	case *pgtype.Text:
		if !x.Valid {
			return nil, nil
		}
		return verifyread.AddressValue(x.String, t)
	case *pgtype.Date:
		if !x.Valid {
			return nil, nil
		}
		if x.InfinityModifier == pgtype.NegativeInfinity {
			return schema.ZeroDate(), nil
		}
		if x.InfinityModifier != pgtype.Finite {
			return nil, errors.New("date is infinity")
		}
		y, m, day := x.Time.Date()
		return time.Date(y, m, day, 0, 0, 0, 0, time.UTC), nil
	case *pgtype.Timestamp:
		if !x.Valid {
			return nil, nil
		}
		return timeValue(x.Time, x.InfinityModifier, t)
	case *pgtype.Timestamptz:
		if !x.Valid {
			return nil, nil
		}
		return timeValue(x.Time, x.InfinityModifier, t)
	case *pgtype.Interval:
		if !x.Valid {
			return nil, nil
		}
		const day = 24 * 60 * 60 * 1_000_000
		return x.Microseconds + int64(x.Days)*day + int64(x.Months)*30*day, nil
	}
	return nil, fmt.Errorf("unexpected %T", d)
}

// timeValue maps a timestamp to DATETIME (wall-clock microseconds) or
// TIMESTAMP (time.Time in UTC); -infinity is the zero date.
func timeValue(tm time.Time, inf pgtype.InfinityModifier, t schema.Type) (any, error) {
	zero := inf == pgtype.NegativeInfinity
	if inf == pgtype.Infinity {
		return nil, errors.New("timestamp is infinity")
	}
	if t.Kind == schema.DateTime {
		if zero {
			return schema.ZeroDateTime, nil
		}
		y, mo, d := tm.Date()
		hh, mi, ss := tm.Clock()
		return time.Date(y, mo, d, hh, mi, ss, 0, time.UTC).UnixMicro() + int64(tm.Nanosecond()/1000), nil
	}
	if zero {
		return schema.ZeroTimestamp(), nil
	}
	return tm.UTC(), nil
}
