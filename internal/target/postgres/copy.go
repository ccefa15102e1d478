package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	mbits "math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/schema"
)

// copyMinRows is the smallest batch Write sends with COPY: below it, the
// round trips of the COPY path (begin, COPY, upserts, commit) cost more
// than the ON CONFLICT work they save.
var copyMinRows = 256

// copyable reports whether the batch goes through writeCopy: large enough,
// with upserts, and every key, column and delete binding as arrays (the
// values of the upserts are checked as they are encoded).
func (b *batch) copyable() bool {
	n := len(b.dels.versions)
	for _, rs := range b.sets {
		n += len(rs.versions)
	}
	if n < copyMinRows || len(b.sets) == 0 || !b.dels.arrays() {
		return false
	}
	if err := b.dels.convert(); err != nil || !b.dels.natural {
		return false
	}
	for _, rs := range b.sets {
		if !rs.arrays() {
			return false
		}
		for _, at := range rs.keyAt {
			if at < 0 {
				return false
			}
		}
	}
	return true
}

// lookedUp, when set, runs between the look-up of held keys and the COPY
// (tests).
var lookedUp func()

// copySavepoint is the savepoint before an optimistic COPY.
const copySavepoint = "SAVEPOINT syncline_copy"

// writeCopy writes the batch in one transaction, in one of two ways:
//
//   - optimistic: the deletes, then COPY of every upsert, in the hope that
//     the table holds none of their keys (a table being loaded, or taking
//     only inserts). If it holds one, the COPY fails with a unique
//     violation, as soon as it reaches the row; the transaction is rolled
//     back to before the COPY and goes on the other way.
//   - with a look-up: the deletes and a look-up of which keys of the
//     upserts the table holds, in one round trip; then COPY of the rows it
//     does not hold, and INSERT ... ON CONFLICT DO UPDATE ... WHERE the
//     stored version is not newer for the others.
//
// held reports whether the table held keys of the upserts. Between the
// look-up and the COPY, another session may insert one of the keys: the
// COPY then fails with a unique violation, and the whole transaction with
// it. A value the COPY encoder does not take fails the transaction with
// errNoCopy.
func (b *batch) writeCopy(ctx context.Context, c *pgx.Conn, optimistic bool) (held bool, err error) {
	table := qualified(b.t.Database, b.t.Name)
	err = pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		// COPY's binary format must match the column types: lock the table
		// against changes (ROW EXCLUSIVE, as COPY takes, conflicts only
		// with DDL), then read them.
		first := &pgx.Batch{}
		first.Queue("LOCK TABLE " + table + " IN ROW EXCLUSIVE MODE")
		oids := map[string]uint32{}
		first.Queue(typesSQL, table).Query(func(r pgx.Rows) error {
			var name string
			var oid uint32
			_, err := pgx.ForEachRow(r, []any{&name, &oid}, func() error {
				oids[name] = oid
				return nil
			})
			return err
		})
		for _, st := range deletes(b.t, b.dels) {
			first.Queue(st.sql, st.args...)
		}
		var marks [][]bool
		if optimistic {
			first.Queue(copySavepoint)
		} else if marks, err = b.queueLookups(first, table); err != nil {
			return err
		}
		if err := tx.SendBatch(ctx, first).Close(); err != nil {
			return err
		}
		if err := b.sameTypes(oids); err != nil {
			return err
		}
		if optimistic {
			err := b.copySets(ctx, c, table, nil)
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "23505" {
				return err
			}
			// The transaction is aborted: only this statement runs (and
			// pgx must not prepare it).
			if _, err := c.PgConn().Exec(ctx, "ROLLBACK TO "+copySavepoint).ReadAll(); err != nil {
				return err
			}
			again := &pgx.Batch{}
			if marks, err = b.queueLookups(again, table); err != nil {
				return err
			}
			if err := tx.SendBatch(ctx, again).Close(); err != nil {
				return err
			}
		}
		if lookedUp != nil {
			lookedUp()
		}
		if err := b.copySets(ctx, c, table, marks); err != nil {
			return err
		}
		last := &pgx.Batch{}
		for s, rs := range b.sets {
			keep := marks[s]
			if !slices.Contains(keep, true) {
				continue
			}
			held = true
			sub := rs.subset(keep)
			if err := sub.convert(); err != nil {
				return err
			}
			for _, st := range upserts(b.t, b.keys, rs.keyAt, sub) {
				last.Queue(st.sql, st.args...)
			}
		}
		if last.Len() == 0 {
			return nil
		}
		return tx.SendBatch(ctx, last).Close()
	})
	return held, err
}

// typesSQL reads the type of each column of the table $1.
const typesSQL = `SELECT a.attname::text, a.atttypid::int8 FROM pg_catalog.pg_attribute a
WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`

// errTypesChanged is writeCopy's error when a column has another type than
// the one its values would be encoded for (the table changed since Prepare
// read it): the statements write the batch instead, which PostgreSQL
// converts as INSERT does. It wraps errBadValue: the connection is sound.
var errTypesChanged = fmt.Errorf("%w: column types changed", errBadValue)

// sameTypes checks the type OIDs of the table's columns (oids, by name)
// against those COPY encodes for.
func (b *batch) sameTypes(oids map[string]uint32) error {
	if got := oids[apply.VersionColumn]; got != pgtype.Int8OID {
		return fmt.Errorf("%w: %s has type %d", errTypesChanged, apply.VersionColumn, got)
	}
	for _, rs := range b.sets {
		for _, c := range rs.cols {
			if got, want := oids[c.Name], oidOf(c.array); got != want {
				return fmt.Errorf("%w: %s has type %d, not %s (%d)", errTypesChanged, c.Name, got, c.pgType, want)
			}
		}
	}
	return nil
}

// queueLookups queues the look-ups of which keys of each set the table
// holds; the returned marks are set as the results are read.
func (b *batch) queueLookups(q *pgx.Batch, table string) ([][]bool, error) {
	marks := make([][]bool, len(b.sets))
	sql := heldSQL(table, b.keys)
	for s, rs := range b.sets {
		marks[s] = make([]bool, len(rs.versions))
		keys := make([][]any, len(b.keys))
		for i, at := range rs.keyAt {
			k := b.keys[i]
			keys[i] = make([]any, len(rs.versions))
			for r, x := range rs.raw[at] {
				y, err := convert(x, k.kind, k.pgType)
				if err != nil || !isNatural(k.kind, y) {
					return nil, errNoCopy
				}
				keys[i][r] = y
			}
		}
		for _, ch := range chunks(rs.bytes) {
			args := make([]any, len(keys))
			for i := range keys {
				args[i] = pgtype.FlatArray[any](keys[i][ch[0]:ch[1]])
			}
			mark, n := marks[s][ch[0]:ch[1]], ch[1]-ch[0]
			q.Queue(sql, args...).Query(func(r pgx.Rows) error {
				var i int64
				_, err := pgx.ForEachRow(r, []any{&i}, func() error {
					if i < 1 || i > int64(n) {
						return fmt.Errorf("look-up of held keys returned position %d of %d", i, n)
					}
					mark[i-1] = true
					return nil
				})
				return err
			})
		}
	}
	return marks, nil
}

// copySets sends each set's rows with COPY, but those marked (marks nil:
// every row), encoding them as COPY reads them.
func (b *batch) copySets(ctx context.Context, c *pgx.Conn, table string, marks [][]bool) error {
	for s, rs := range b.sets {
		var skip []bool
		if marks != nil {
			skip = marks[s]
			if !slices.Contains(skip, false) {
				continue
			}
		}
		r, err := newCopyReader(rs.values, skip)
		if err != nil {
			return err
		}
		_, err = c.PgConn().CopyFrom(ctx, r, copySQL(table, rs.cols))
		r.close()
		if r.err != nil {
			return r.err
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// heldSQL returns the positions (from 1), in the arrays of the keys $1..,
// of the keys the table holds.
func heldSQL(table string, keys []column) string {
	var b strings.Builder
	b.WriteString("SELECT d.i FROM unnest(")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(i+1) + "::" + k.array)
	}
	b.WriteString(") WITH ORDINALITY AS d(")
	for i := range keys {
		b.WriteString("c" + strconv.Itoa(i+1) + ", ")
	}
	b.WriteString("i) JOIN " + table + " AS e ON ")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString("e." + quote(k.Name) + " = d.c" + strconv.Itoa(i+1))
	}
	return b.String()
}

// copySQL is the COPY statement of a set of columns and the version.
func copySQL(table string, cols []column) string {
	var b strings.Builder
	b.WriteString("COPY " + table + " (")
	for _, c := range cols {
		b.WriteString(quote(c.Name) + ", ")
	}
	b.WriteString(quote(apply.VersionColumn) + ") FROM STDIN (FORMAT binary)")
	return b.String()
}

// copyHeader and copyTrailer frame COPY's binary format.
var (
	copyHeader  = []byte("PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000")
	copyTrailer = []byte{0xFF, 0xFF}
)

// copyChunk is how many bytes of rows copyReader encodes at a time.
const copyChunk = 64 << 10

// typeMaps encode the values appendCopy leaves to pgx; a pgtype.Map
// memoizes its encode plans and is not safe for concurrent use.
var typeMaps = sync.Pool{New: func() any { return pgtype.NewMap() }}

// errNoCopy marks a value that appendCopy does not encode: the batch goes
// through the statements instead, which report it if it is bad. It wraps
// errBadValue: the connection is sound.
var errNoCopy = fmt.Errorf("%w: not encoded for COPY", errBadValue)

// copyReader is the COPY data (binary format) of rows of v but those marked
// in skip (nil: none), each its columns then the version, encoded as COPY
// reads it, so that encoding overlaps with the server's work.
type copyReader struct {
	v    *values
	skip []bool
	oids []uint32
	m    *pgtype.Map
	next int // the next row to encode
	buf  []byte
	off  int  // what Read has returned of buf
	done bool // buf holds the trailer
	err  error
}

func newCopyReader(v *values, skip []bool) (*copyReader, error) {
	r := &copyReader{v: v, skip: skip, oids: make([]uint32, len(v.cols)), buf: append(make([]byte, 0, copyChunk+4096), copyHeader...)}
	for i, c := range v.cols {
		if r.oids[i] = oidOf(c.array); r.oids[i] == 0 {
			return nil, errNoCopy
		}
	}
	r.m = typeMaps.Get().(*pgtype.Map)
	return r, nil
}

// close returns the reader's type map; the reader is not read after.
func (r *copyReader) close() {
	if r.m != nil {
		typeMaps.Put(r.m)
		r.m = nil
	}
}

func (r *copyReader) Read(p []byte) (int, error) {
	for r.off == len(r.buf) {
		if r.done {
			return 0, io.EOF
		}
		if r.err != nil {
			return 0, r.err
		}
		r.buf, r.off = r.buf[:0], 0
		r.fill()
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	return n, nil
}

// fill encodes rows into buf, up to about copyChunk bytes, and the trailer
// after the last.
func (r *copyReader) fill() {
	v := r.v
	buf := r.buf
	var err error
	for ; r.next < len(v.versions) && len(buf) < copyChunk; r.next++ {
		if r.skip != nil && r.skip[r.next] {
			continue
		}
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(v.cols)+1))
		for i, c := range v.cols {
			if buf, err = appendCopy(buf, c, r.oids[i], v.raw[i][r.next], r.m); err != nil {
				r.err = err
				r.buf = r.buf[:0]
				return
			}
		}
		buf = binary.BigEndian.AppendUint32(buf, 8)
		buf = binary.BigEndian.AppendUint64(buf, uint64(v.versions[r.next]))
	}
	if r.next == len(v.versions) {
		buf = append(buf, copyTrailer...)
		r.done = true
	}
	r.buf = buf
}

// oidOf returns the type OID of an array binding (arrayType) without the
// array, for COPY.
func oidOf(array string) uint32 {
	switch strings.TrimSuffix(strings.TrimPrefix(array, `"pg_catalog".`), "[]") {
	case `"int2"`:
		return pgtype.Int2OID
	case `"int4"`:
		return pgtype.Int4OID
	case `"int8"`:
		return pgtype.Int8OID
	case `"numeric"`:
		return pgtype.NumericOID
	case `"float4"`:
		return pgtype.Float4OID
	case `"float8"`:
		return pgtype.Float8OID
	case `"bit"`:
		return pgtype.BitOID
	case `"varbit"`:
		return pgtype.VarbitOID
	case `"varchar"`:
		return pgtype.VarcharOID
	case `"bpchar"`:
		return pgtype.BPCharOID
	case `"text"`:
		return pgtype.TextOID
	case `"bytea"`:
		return pgtype.ByteaOID
	case `"jsonb"`:
		return pgtype.JSONBOID
	case `"json"`:
		return pgtype.JSONOID
	case `"date"`:
		return pgtype.DateOID
	case `"timestamp"`:
		return pgtype.TimestampOID
	case `"timestamptz"`:
		return pgtype.TimestamptzOID
	case `"interval"`:
		return pgtype.IntervalOID
	case `"uuid"`:
		return pgtype.UUIDOID
	case `"inet"`:
		return pgtype.InetOID
	}
	return 0
}

// y2k is PostgreSQL's epoch for dates and times, in Unix seconds.
const y2k = 946_684_800

// appendCopy appends a change's value (apply.Change's Go types) for column
// c, of type oid, as a COPY field: its length, then its binary form. The
// common pairs of Go type and column are encoded here, exactly as pgx
// encodes what convert returns for them; the others go through convert and
// pgx. It returns errNoCopy, or convert's error, for a value the
// statements must write.
func appendCopy(buf []byte, c column, oid uint32, v any, m *pgtype.Map) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return binary.BigEndian.AppendUint32(buf, math.MaxUint32), nil
	case int32:
		if c.kind == KindInt {
			return appendInt(buf, oid, int64(x))
		}
		if c.kind == KindNumeric {
			return appendNumeric(buf, x < 0, uint64(abs(int64(x))), 0), nil
		}
	case int64:
		switch c.kind {
		case KindInt:
			return appendInt(buf, oid, x)
		case KindNumeric:
			if x != math.MinInt64 {
				return appendNumeric(buf, x < 0, uint64(abs(x)), 0), nil
			}
		case KindInterval:
			buf = binary.BigEndian.AppendUint32(buf, 16)
			buf = binary.BigEndian.AppendUint64(buf, uint64(x))
			return binary.BigEndian.AppendUint64(buf, 0), nil // days, months
		}
	case *big.Rat:
		if c.kind == KindNumeric {
			if neg, u, scale, ok := decimal(x); ok {
				return appendNumeric(buf, neg, u, scale), nil
			}
		}
	case float32:
		if oid == pgtype.Float4OID {
			buf = binary.BigEndian.AppendUint32(buf, 4)
			return binary.BigEndian.AppendUint32(buf, math.Float32bits(x)), nil
		}
	case float64:
		if oid == pgtype.Float8OID {
			buf = binary.BigEndian.AppendUint32(buf, 8)
			return binary.BigEndian.AppendUint64(buf, math.Float64bits(x)), nil
		}
	case string:
		if c.kind == KindText || c.kind == KindJSON {
			if strings.IndexByte(x, 0) >= 0 {
				return nil, errNoCopy // convert's error, from the statements
			}
			n := len(x)
			if oid == pgtype.JSONBOID {
				n++
			}
			if n > math.MaxInt32 {
				return nil, errNoCopy
			}
			buf = binary.BigEndian.AppendUint32(buf, uint32(n))
			if oid == pgtype.JSONBOID {
				buf = append(buf, 1) // jsonb's binary format version
			}
			return append(buf, x...), nil
		}
	case []byte:
		if c.kind == KindBytea && len(x) <= math.MaxInt32 {
			buf = binary.BigEndian.AppendUint32(buf, uint32(len(x)))
			return append(buf, x...), nil
		}
	case time.Time:
		switch c.kind {
		case KindDate:
			days := int64(math.MinInt32) // -infinity
			if !schema.IsZeroDate(x) {
				days = (time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, time.UTC).Unix() - y2k) / 86400
				if days != int64(int32(days)) {
					break
				}
			}
			buf = binary.BigEndian.AppendUint32(buf, 4)
			return binary.BigEndian.AppendUint32(buf, uint32(int32(days))), nil
		case KindTimestamp, KindTimestamptz:
			us := int64(math.MinInt64) // -infinity
			if !schema.IsZeroDate(x) {
				us = x.Unix()*1_000_000 + int64(x.Nanosecond())/1000 - y2k*1_000_000
			}
			buf = binary.BigEndian.AppendUint32(buf, 8)
			return binary.BigEndian.AppendUint64(buf, uint64(us)), nil
		}
	}
	// Any other pair: what convert returns, encoded by pgx as the
	// statements would bind it.
	y, err := convert(v, c.kind, c.pgType)
	if err != nil || !isNatural(c.kind, y) {
		return nil, errNoCopy
	}
	at := len(buf)
	buf = append(buf, 0, 0, 0, 0)
	enc, err := m.Encode(oid, pgtype.BinaryFormatCode, y, buf)
	if err != nil {
		return nil, errNoCopy
	}
	if enc == nil {
		binary.BigEndian.PutUint32(buf[at:], math.MaxUint32)
		return buf, nil
	}
	binary.BigEndian.PutUint32(enc[at:], uint32(len(enc)-at-4))
	return enc, nil
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// appendInt appends an integer for an int2, int4 or int8 column; one out
// of the column's range is left to the statements (and their error).
func appendInt(buf []byte, oid uint32, x int64) ([]byte, error) {
	switch oid {
	case pgtype.Int2OID:
		if x != int64(int16(x)) {
			return nil, errNoCopy
		}
		buf = binary.BigEndian.AppendUint32(buf, 2)
		return binary.BigEndian.AppendUint16(buf, uint16(x)), nil
	case pgtype.Int4OID:
		if x != int64(int32(x)) {
			return nil, errNoCopy
		}
		buf = binary.BigEndian.AppendUint32(buf, 4)
		return binary.BigEndian.AppendUint32(buf, uint32(x)), nil
	case pgtype.Int8OID:
		buf = binary.BigEndian.AppendUint32(buf, 8)
		return binary.BigEndian.AppendUint64(buf, uint64(x)), nil
	}
	return nil, errNoCopy
}

// maxScale is the largest scale decimal handles: the fraction, padded to
// whole base-10000 digits, must fit a uint64.
const maxScale = 16

// decimal returns r as sign, unscaled magnitude and scale (r = ±u / 10^scale)
// when r is a decimal fraction whose magnitude and scale fit; ok is false
// otherwise (convert's big.Int path handles those).
func decimal(r *big.Rat) (neg bool, u uint64, scale int, ok bool) {
	num, den := r.Num(), r.Denom()
	if !num.IsInt64() || !den.IsUint64() {
		return false, 0, 0, false
	}
	d := den.Uint64()
	twos, fives := 0, 0
	for d%2 == 0 {
		d /= 2
		twos++
	}
	for d%5 == 0 {
		d /= 5
		fives++
	}
	scale = max(twos, fives)
	if d != 1 || scale > maxScale {
		return false, 0, 0, false
	}
	n := num.Int64()
	if n == math.MinInt64 {
		return false, 0, 0, false
	}
	hi, lo := mbits.Mul64(uint64(abs(n)), schema.Pow10(scale)/den.Uint64())
	if hi != 0 {
		return false, 0, 0, false
	}
	return n < 0, lo, scale, true
}

// appendNumeric appends ±u / 10^scale (scale <= maxScale) in numeric's
// binary format: digit count, weight, sign and display scale, then base
// 10000 digits, most significant first. PostgreSQL strips leading and
// trailing zero digits itself.
func appendNumeric(buf []byte, neg bool, u uint64, scale int) []byte {
	whole, frac := u/schema.Pow10(scale), u%schema.Pow10(scale)
	pad := (4 - scale%4) % 4
	frac *= schema.Pow10(pad)
	nfrac := (scale + pad) / 4
	var digits [10]uint16 // at most 5 whole and 4 fractional digits
	n := 0
	for w := whole; w > 0; w /= 10000 {
		n++
	}
	weight := n - 1
	for i, w := n-1, whole; i >= 0; i, w = i-1, w/10000 {
		digits[i] = uint16(w % 10000)
	}
	for i := nfrac - 1; i >= 0; i-- {
		digits[n+i] = uint16(frac % 10000)
		frac /= 10000
	}
	n += nfrac
	for n > 0 && digits[n-1] == 0 {
		n--
	}
	var sign uint16
	if neg && n > 0 {
		sign = 0x4000
	}
	if n == 0 {
		weight = 0
	}
	buf = binary.BigEndian.AppendUint32(buf, uint32(8+2*n))
	buf = binary.BigEndian.AppendUint16(buf, uint16(n))
	buf = binary.BigEndian.AppendUint16(buf, uint16(int16(weight)))
	buf = binary.BigEndian.AppendUint16(buf, sign)
	buf = binary.BigEndian.AppendUint16(buf, uint16(scale))
	for _, d := range digits[:n] {
		buf = binary.BigEndian.AppendUint16(buf, d)
	}
	return buf
}
