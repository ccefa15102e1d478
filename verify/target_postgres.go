package verify

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
	applypg "github.com/syncline/syncline/internal/target/postgres"
	"github.com/syncline/syncline/schema"
)

// pgTarget reads a PostgreSQL target: each source database is a schema of
// the database named in the URL. Values are read in their PostgreSQL types
// and mapped back by the source column's type (docs/targets.md,
// PostgreSQL): smallint/integer/bigint and numeric(20,0) to the source's
// integers, bit(n) to BIT bytes, interval to TIME microseconds, -infinity
// to the zero dates, jsonb as text in canonicalJSON's form.
type pgTarget struct {
	ep      endpoint.Endpoint
	timeout time.Duration
	conn    *pgx.Conn
}

func (g *pgTarget) connect(ctx context.Context) error {
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

func (g *pgTarget) close() {
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

func (g *pgTarget) open(ctx context.Context, p *plan) (targetTable, error) {
	if err := g.connect(ctx); err != nil {
		return nil, err
	}
	rows, err := g.conn.Query(ctx, pgColumnsQuery, p.tdb, p.tname)
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
	pt := &pgTable{db: g, p: p, from: " FROM " + pgx.Identifier{p.tdb, p.tname}.Sanitize()}
	var sel []string
	for _, c := range p.cols {
		typ, ok := types[c.target]
		if !ok {
			return nil, fmt.Errorf("column %s of %s is not in the target (the mapping of %s gives it)", c.target, p.targetName(), p.name())
		}
		k := applypg.KindOf(typ)
		if !pgCompatible(k, c.src.Type) {
			return nil, badColumn(p, c, typ)
		}
		q := pgx.Identifier{c.target}.Sanitize()
		switch k {
		case applypg.KindJSON, applypg.KindUUID:
			q += "::text"
		case applypg.KindInet:
			q = "host(" + q + ")"
		}
		sel = append(sel, q)
		pt.types = append(pt.types, typ)
		pt.kinds = append(pt.kinds, k)
	}
	pt.list = strings.Join(sel, ", ")
	for _, c := range p.keyCol {
		pt.keyNames = append(pt.keyNames, pgx.Identifier{p.cols[c].target}.Sanitize())
	}
	return pt, nil
}

// pgCompatible reports whether a PostgreSQL type family holds a source type
// in a form verify maps back (apply's mapping, docs/targets.md).
func pgCompatible(k applypg.Kind, t schema.Type) bool {
	switch sk := t.Kind; {
	case sk.IsInteger(), sk == schema.Year:
		return k == applypg.KindInt || k == applypg.KindNumeric
	case sk == schema.Decimal:
		return k == applypg.KindNumeric
	case sk == schema.Float, sk == schema.Double:
		return k == applypg.KindReal || k == applypg.KindDouble
	case sk == schema.Bit:
		return k == applypg.KindBit
	case sk == schema.JSON:
		return k == applypg.KindJSON || k == applypg.KindText
	case sk == schema.UUID:
		return k == applypg.KindUUID || k == applypg.KindText
	case sk == schema.Inet4, sk == schema.Inet6:
		return k == applypg.KindInet || k == applypg.KindText
	case sk.IsString():
		return k == applypg.KindText
	case sk.IsBinary(), sk.IsGeometry():
		return k == applypg.KindBytea
	case sk == schema.Date:
		return k == applypg.KindDate
	case sk == schema.DateTime:
		return k == applypg.KindTimestamp
	case sk == schema.Timestamp:
		return k == applypg.KindTimestamptz
	case sk == schema.Time:
		return k == applypg.KindInterval
	}
	return false
}

// pgTable reads one PostgreSQL target table.
type pgTable struct {
	db       *pgTarget
	p        *plan
	from     string
	list     string   // select list of the compared columns
	types    []string // their format_type
	kinds    []applypg.Kind
	keyNames []string // quoted key columns
}

// params converts key values into parameters numbered from $next.
func (pt *pgTable) params(keys []any, next int) ([]string, []any, error) {
	marks := make([]string, len(keys))
	args := make([]any, len(keys))
	for i, v := range keys {
		c := pt.p.keyCol[i]
		src := pt.p.cols[c].src
		a, err := applypg.Param(toChange(v, src.Type), pt.types[c])
		if err != nil {
			return nil, nil, fmt.Errorf("target %s: key column %s: %w", pt.p.targetName(), src.Name, err)
		}
		marks[i] = "$" + strconv.Itoa(next+i)
		args[i] = a
	}
	return marks, args, nil
}

// rangeCond returns lo < key <= hi and its parameters.
func (pt *pgTable) rangeCond(lo, hi []any) (string, []any, error) {
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
		conds = append(conds, tuple(pt.keyNames)+b.op+tuple(marks))
		args = append(args, ps...)
	}
	if len(conds) == 0 {
		return "", nil, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

func (pt *pgTable) rows(ctx context.Context, lo, hi []any, fn func(row) error) error {
	cond, args, err := pt.rangeCond(lo, hi)
	if err != nil {
		return err
	}
	return pt.stream(ctx, "SELECT "+pt.list+pt.from+cond+" ORDER BY "+strings.Join(pt.keyNames, ", "), args, fn)
}

func (pt *pgTable) rowsByKeys(ctx context.Context, keys [][]any, fn func(row) error) error {
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
		list[i] = tuple(marks)
		args = append(args, ps...)
	}
	return pt.stream(ctx, "SELECT "+pt.list+pt.from+" WHERE "+tuple(pt.keyNames)+" IN ("+strings.Join(list, ", ")+")", args, fn)
}

func (pt *pgTable) stream(ctx context.Context, q string, args []any, fn func(row) error) error {
	if err := pt.db.connect(ctx); err != nil {
		return err
	}
	rows, err := pt.db.conn.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("target: read %s: %w", pt.p.targetName(), err)
	}
	defer rows.Close()
	dest := make([]any, len(pt.kinds))
	vals := make([]any, len(pt.kinds))
	for rows.Next() {
		for i, k := range pt.kinds {
			dest[i] = pgDest(k)
		}
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("target: read %s: %w", pt.p.targetName(), err)
		}
		for i, d := range dest {
			c := pt.p.cols[i]
			v, err := fromPG(d, c.src.Type)
			if err != nil {
				return fmt.Errorf("target: read %s column %s: %w", pt.p.targetName(), c.target, err)
			}
			vals[i] = v
		}
		r, err := pt.p.targetRow(vals)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("target: read %s: %w", pt.p.targetName(), err)
	}
	return nil
}

func (pt *pgTable) keys(ctx context.Context, after []any, n int) ([][]any, []any, error) {
	if err := pt.db.connect(ctx); err != nil {
		return nil, nil, err
	}
	cond, args, err := pt.rangeCond(after, nil)
	if err != nil {
		return nil, nil, err
	}
	list := make([]string, len(pt.keyNames))
	for i, c := range pt.p.keyCol {
		list[i] = pt.keyNames[i]
		if pt.kinds[c] == applypg.KindJSON {
			list[i] += "::text"
		}
	}
	q := "SELECT " + strings.Join(list, ", ") + pt.from + cond + " ORDER BY " + strings.Join(pt.keyNames, ", ") + " LIMIT " + strconv.Itoa(n)
	rows, err := pt.db.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("target: read keys of %s: %w", pt.p.targetName(), err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		dest := make([]any, len(pt.p.keyCol))
		for i, c := range pt.p.keyCol {
			dest[i] = pgDest(pt.kinds[c])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, nil, fmt.Errorf("target: read keys of %s: %w", pt.p.targetName(), err)
		}
		key := make([]any, len(dest))
		for i, c := range pt.p.keyCol {
			if key[i], err = fromPG(dest[i], pt.p.cols[c].src.Type); err != nil {
				return nil, nil, fmt.Errorf("target: read keys of %s: %w", pt.p.targetName(), err)
			}
		}
		out = append(out, key)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("target: read keys of %s: %w", pt.p.targetName(), err)
	}
	return out, nextAfter(out, n), nil
}

func (*pgTable) canChecksum() bool { return false }

func (*pgTable) checksum(context.Context, []any, []any) (mysqlSum, error) {
	return mysqlSum{}, errors.New("no checksums on this target")
}

// pgDest returns the scan destination of a column family.
func pgDest(k applypg.Kind) any {
	switch k {
	case applypg.KindInt:
		return new(pgtype.Int8)
	case applypg.KindNumeric:
		return new(pgtype.Numeric)
	case applypg.KindReal:
		return new(pgtype.Float4)
	case applypg.KindDouble:
		return new(pgtype.Float8)
	case applypg.KindBit:
		return new(pgtype.Bits)
	case applypg.KindBytea:
		return new([]byte)
	case applypg.KindDate:
		return new(pgtype.Date)
	case applypg.KindTimestamp:
		return new(pgtype.Timestamp)
	case applypg.KindTimestamptz:
		return new(pgtype.Timestamptz)
	case applypg.KindInterval:
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
		return integerValue(new(big.Int).SetInt64(x.Int64), t)
	case *pgtype.Numeric:
		if !x.Valid {
			return nil, nil
		}
		if x.NaN || x.InfinityModifier != pgtype.Finite || x.Int == nil {
			return nil, errors.New("numeric value is not a number")
		}
		r := new(big.Rat).SetInt(x.Int)
		if x.Exp > 0 {
			r.Mul(r, new(big.Rat).SetInt(pow10(int(x.Exp))))
		} else if x.Exp < 0 {
			r.Quo(r, new(big.Rat).SetInt(pow10(int(-x.Exp))))
		}
		if t.Kind == schema.Decimal {
			return r, nil
		}
		if !r.IsInt() {
			return nil, fmt.Errorf("%s is not an integer, for a %s", r.RatString(), t)
		}
		return integerValue(r.Num(), t)
	case *pgtype.Float4:
		if !x.Valid {
			return nil, nil
		}
		return floatValue(float64(x.Float32), t), nil
	case *pgtype.Float8:
		if !x.Valid {
			return nil, nil
		}
		return floatValue(x.Float64, t), nil
	case *pgtype.Bits:
		if !x.Valid {
			return nil, nil
		}
		v := new(big.Int).SetBytes(x.Bytes)
		v.Rsh(v, uint(8*len(x.Bytes)-int(x.Len)))
		return bitBytes(v, t)
	case *[]byte:
		if *x == nil {
			return nil, nil
		}
		return *x, nil
	case *pgtype.Text:
		if !x.Valid {
			return nil, nil
		}
		return addressValue(x.String, t)
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
