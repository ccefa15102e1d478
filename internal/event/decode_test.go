package event

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/syncline/syncline/schema"
)

// benchTable is the shape of the bench package's tables: integers, a
// decimal, a float, short and longer text, a nullable column, a date and a
// time with microseconds.
func benchTable(t testing.TB) schema.Table {
	t.Helper()
	tbl := schema.Table{Key: []string{"id"}}
	for _, c := range []struct {
		name, typ string
		null      bool
	}{
		{"id", "bigint", false}, {"account", "int", false}, {"qty", "int", false},
		{"amount", "decimal(12,2)", false}, {"score", "double", false}, {"name", "varchar(64)", false},
		{"note", "varchar(255)", true}, {"status", "tinyint", false}, {"created", "datetime(6)", false},
		{"day", "date", false},
	} {
		typ, err := schema.ParseType(c.typ)
		if err != nil {
			t.Fatal(err)
		}
		tbl.Columns = append(tbl.Columns, schema.Column{Name: c.name, Type: typ, Nullable: c.null})
	}
	return tbl
}

// benchRow is a row of benchTable in the encoder's Go types.
func benchRow(id int64) []any {
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(id)*time.Second + 123456*time.Microsecond)
	return []any{id, int32(id % 100000), int32(id % 1000), big.NewRat(id%100000, 100), float64(id) * 0.5,
		"name-12345", "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", int32(id % 5),
		created.UnixMicro(), time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)}
}

// encodeEnvelope returns the codec of t's envelope schema and the body of
// one change.
func encodeEnvelope(t testing.TB, tbl schema.Table, before, after []any, op string, src Source) (*EnvelopeCodec, []byte) {
	t.Helper()
	s, err := EnvelopeSchema(tbl, "test.db.t")
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewEnvelopeCodec(1, s)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := NewEncoder(tbl)
	if err != nil {
		t.Fatal(err)
	}
	body, err := enc.AppendEnvelope(nil, before, after, src, op, src.TSMillis)
	if err != nil {
		t.Fatal(err)
	}
	return c, body
}

func benchSource() Source {
	return Source{Version: 1 << 40, Name: "syncline", DB: "shop", Table: "orders", ServerID: 1,
		GTID: "0-1-12345", File: "mysql-bin.000001", Pos: 123456, Row: 3, TSMillis: 1700000000123, Snapshot: "false"}
}

// BenchmarkEnvelopeDecode decodes an insert, an update (before and after
// images) and a delete of the bench table.
func BenchmarkEnvelopeDecode(b *testing.B) {
	tbl := benchTable(b)
	for _, bc := range []struct {
		op            string
		before, after []any
	}{
		{"c", nil, benchRow(12345)},
		{"u", benchRow(12345), benchRow(12345)},
		{"d", benchRow(12345), nil},
	} {
		b.Run(bc.op, func(b *testing.B) {
			c, body := encodeEnvelope(b, tbl, bc.before, bc.after, bc.op, benchSource())
			er := NewEnvelopeReader()
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := c.Decode(er, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestEnvelopeDecode decodes each operation and checks every field the
// event carries, the row's Go types included.
func TestEnvelopeDecode(t *testing.T) {
	tbl := benchTable(t)
	src := benchSource()
	rowOf := func(id int64, note any) map[string]any {
		v := benchRow(id)
		return map[string]any{
			"id": v[0], "account": v[1], "qty": v[2], "amount": v[3], "score": v[4], "name": v[5],
			"note": note, "status": v[7], "created": time.UnixMicro(v[8].(int64)).UTC(), "day": v[9],
		}
	}
	withNote := func(id int64, note any) []any {
		v := benchRow(id)
		v[6] = note
		return v
	}
	er := NewEnvelopeReader()
	for _, tc := range []struct {
		op            string
		before, after []any
		want          map[string]any // the row the change applies
	}{
		{"c", nil, withNote(7, nil), rowOf(7, nil)},
		{"r", nil, withNote(-300, "x"), rowOf(-300, "x")},
		{"u", withNote(1, "old"), withNote(1, "new"), rowOf(1, "new")},
		{"d", withNote(99999, "gone"), nil, rowOf(99999, "gone")},
	} {
		c, body := encodeEnvelope(t, tbl, tc.before, tc.after, tc.op, src)
		// Decode twice with the same reader: nothing of the first record
		// may leak into the second.
		for range 2 {
			ev, err := c.Decode(er, body)
			if err != nil {
				t.Fatalf("op %s: %v", tc.op, err)
			}
			if ev.Op != tc.op || ev.Version != src.Version || ev.DB != src.DB || ev.Table != src.Table ||
				!ev.SourceTS.Equal(time.UnixMilli(src.TSMillis)) {
				t.Errorf("op %s: event %q %d %s.%s %v", tc.op, ev.Op, ev.Version, ev.DB, ev.Table, ev.SourceTS)
			}
			got := ev.After
			if tc.op == "d" {
				got = ev.Before
				if ev.After != nil {
					t.Errorf("op d: after %v", ev.After)
				}
			} else if ev.Before != nil {
				t.Errorf("op %s: before decoded: %v", tc.op, ev.Before)
			}
			if diff := rowDiff(tc.want, got); diff != "" {
				t.Errorf("op %s: %s", tc.op, diff)
			}
		}
	}
}

// rowDiff describes how got differs from want, comparing *big.Rat by value
// and everything else by type and value.
func rowDiff(want, got map[string]any) string {
	if len(want) != len(got) {
		return fmt.Sprintf("%d columns, want %d: %v", len(got), len(want), got)
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			return "no column " + k
		}
		if wr, ok := w.(*big.Rat); ok {
			if gr, ok := g.(*big.Rat); !ok || gr.Cmp(wr) != 0 {
				return fmt.Sprintf("column %s: %T %v, want %v", k, g, g, wr)
			}
			continue
		}
		if !reflect.DeepEqual(w, g) {
			return fmt.Sprintf("column %s: %T %v, want %T %v", k, g, g, w, w)
		}
	}
	return ""
}

// TestEnvelopeDecodeErrors: envelopes that do not make a change are
// refused, as before the decoder skipped the before image.
func TestEnvelopeDecodeErrors(t *testing.T) {
	tbl := benchTable(t)
	er := NewEnvelopeReader()
	for _, tc := range []struct {
		op            string
		before, after []any
		want          string
	}{
		{"d", nil, nil, `op "d" without before`},
		{"u", benchRow(1), nil, `op "u" without after`},
		{"x", nil, benchRow(1), `unknown op "x"`},
	} {
		c, body := encodeEnvelope(t, tbl, tc.before, tc.after, tc.op, benchSource())
		if _, err := c.Decode(er, body); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("op %s: error %v, want %q", tc.op, err, tc.want)
		}
		if _, err := c.Decode(er, body[:len(body)/2]); err == nil {
			t.Errorf("op %s: a truncated body decoded", tc.op)
		}
	}
}

// TestDecimalDecoder checks the decimal fast path and the big.Int path
// against the definition: the two's complement big-endian unscaled value
// over 10^scale.
func TestDecimalDecoder(t *testing.T) {
	want := func(b []byte, scale int) *big.Rat {
		num := new(big.Int).SetBytes(b)
		if len(b) > 0 && b[0]&0x80 != 0 {
			num.Sub(num, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
		}
		return new(big.Rat).SetFrac(num, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
	}
	inputs := [][]byte{{}, {0}, {1}, {0x7f}, {0x80}, {0xff}, {0xff, 0x80}, {0x00, 0x80},
		{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x80, 0, 0, 0, 0, 0, 0, 0},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x00, 0x80, 0, 0, 0, 0, 0, 0, 0},
		{0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34}}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		b := make([]byte, rng.IntN(13))
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		inputs = append(inputs, b)
	}
	for _, scale := range []int{0, 2, 10, 18, 19, 30} {
		d := newDecimalDecoder(scale)
		for _, b := range inputs {
			if got, w := d.rat(b), want(b, scale); got.Cmp(w) != 0 {
				t.Errorf("scale %d bytes %x: %v, want %v", scale, b, got, w)
			}
		}
	}
}

// TestDecimalFastPathNormalized checks the word-arithmetic path of small
// decimals (schema.RatOfDecimal) against SetFrac64, the representation
// included (both must be in lowest terms).
func TestDecimalFastPathNormalized(t *testing.T) {
	nums := []int64{0, 1, -1, 2, -2, 10, -10, 100, 12345, -12345, 1 << 62, math.MaxInt64, math.MinInt64, math.MinInt64 + 1}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		nums = append(nums, int64(rng.Uint64()), rng.Int64N(1_000_000)-500_000)
	}
	for _, scale := range []int{0, 1, 2, 3, 9, 18} {
		d := newDecimalDecoder(scale)
		den := int64(schema.Pow10(scale))
		for _, n := range nums {
			got, want := d.rat(binary.BigEndian.AppendUint64(nil, uint64(n))), new(big.Rat).SetFrac64(n, den)
			if got.Cmp(want) != 0 || got.Num().Cmp(want.Num()) != 0 || got.Denom().Cmp(want.Denom()) != 0 || got.IsInt() != want.IsInt() {
				t.Errorf("%d/%d: %s, want %s", n, den, got, want)
			}
		}
	}
}
