package event_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/internal/event/eventtest"
	"github.com/syncline/syncline/internal/source/mysqlvalue"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/schema/schematest"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// edgeTable has a NOT NULL and a nullable column of every type of
// EveryType, names that need sanitizing (with a collision) and a two-column
// key in an order different from the table's.
func edgeTable(t testing.TB) schema.Table {
	t.Helper()
	tbl := schema.Table{Database: "d b", Name: "tàble", Key: []string{"é", "id"}, Columns: []schema.Column{
		{Name: "id", Type: schema.Type{Kind: schema.Int}},
		{Name: "é", Type: schema.Type{Kind: schema.VarChar, Length: 10, Charset: "utf8mb4"}},
		{Name: "odd col-name", Type: schema.Type{Kind: schema.Int}, Nullable: true},
		{Name: "1st", Type: schema.Type{Kind: schema.Int}, Nullable: true},
		{Name: "a b", Type: schema.Type{Kind: schema.Int}, Nullable: true},
		{Name: "a_b", Type: schema.Type{Kind: schema.Int}, Nullable: true},
	}}
	for _, s := range schematest.EveryType {
		typ, err := schema.ParseType(s)
		if err != nil {
			t.Fatal(err)
		}
		if typ.Kind.IsText() || typ.Kind == schema.Enum || typ.Kind == schema.Set {
			typ.Charset = "utf8mb4"
		}
		tbl.Columns = append(tbl.Columns,
			schema.Column{Name: "nn " + s, Type: typ},
			schema.Column{Name: "n " + s, Type: typ, Nullable: true})
	}
	return tbl
}

// decimalOf returns unscaled / 10^scale.
func decimalOf(unscaled *big.Int, scale int) *big.Rat {
	return new(big.Rat).SetFrac(unscaled, event.Pow10Big(scale))
}

// edgeValues returns valid values of type typ: extremes, varint and byte
// boundaries, sentinels and empty values.
func edgeValues(typ schema.Type) []any {
	enc := event.ColEncOf(typ)
	var out []any
	switch enc.Op() {
	case event.OpInt:
		for _, v := range []int32{0, 1, -1, 63, -64, 64, -65, 127, -128, 255, 8191, -8192, math.MaxInt32, math.MinInt32, 2024} {
			out = append(out, v)
		}
	case event.OpLong, event.OpLocalTime:
		for _, v := range []int64{0, 1, -1, 63, -64, 1 << 32, math.MaxUint32, math.MaxInt64, math.MinInt64,
			-3020399000000, 3020399000000, schematest.Micros(9999, 12, 31, 23, 59, 59, 999999), schematest.Micros(1000, 1, 1, 0, 0, 0, 0)} {
			out = append(out, v)
		}
	case event.OpDecimal:
		var ints []*big.Int
		for _, s := range []string{"0", "1", "-1", "127", "128", "-128", "-129", "255", "256", "-256", "-255",
			"32767", "32768", "-32768", "-32769", "8388608", "-8388608", "2147483648", "-2147483648",
			"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
			"18446744073709551615", "18446744073709551616", "-18446744073709551615", "-18446744073709551616",
			"1180591620717411303424", "-1180591620717411303424", "99999"} {
			i, _ := new(big.Int).SetString(s, 10)
			ints = append(ints, i)
		}
		// The largest and smallest values of the precision.
		limit := new(big.Int).Sub(event.Pow10Big(enc.Prec()), big.NewInt(1))
		ints = append(ints, limit, new(big.Int).Neg(limit))
		for _, i := range ints {
			if new(big.Int).Abs(i).Cmp(event.Pow10Big(enc.Prec())) < 0 {
				out = append(out, decimalOf(i, enc.Scale()))
			}
		}
	case event.OpFloat:
		for _, v := range []float32{0, float32(math.Copysign(0, -1)), 1.5, -3.4028234e38, math.MaxFloat32, math.SmallestNonzeroFloat32,
			float32(math.Inf(1)), float32(math.NaN())} {
			out = append(out, v)
		}
	case event.OpDouble:
		for _, v := range []float64{0, math.Copysign(0, -1), 0.30000000000000004, -1.7976931348623157e308, math.SmallestNonzeroFloat64,
			math.Inf(-1), math.NaN()} {
			out = append(out, v)
		}
	case event.OpString:
		for _, v := range []string{"", "a", "b'c", "x,z", "é😀", "\x00", strings.Repeat("x", 300), `{"a": [1, 2.50]}`} {
			out = append(out, v)
		}
	case event.OpBytes:
		for _, v := range [][]byte{{}, {0}, {1}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x80, 0, 0, 0, 0, 0, 0, 0},
			bytes.Repeat([]byte{0xde, 0xad}, 100), schematest.PointWKB(1, 2)} {
			out = append(out, v)
		}
	case event.OpDate:
		for _, v := range []time.Time{schematest.Date(2024, 2, 29), schema.ZeroDate(), schematest.Date(1, 1, 1), schematest.Date(1969, 12, 31), schematest.Date(9999, 12, 31), schematest.Date(1970, 1, 1)} {
			out = append(out, v)
		}
	case event.OpTimestamp:
		for _, v := range []time.Time{schema.ZeroTimestamp(), time.Unix(1, 0).UTC(), time.Date(2038, 1, 19, 3, 14, 7, 999999000, time.UTC),
			time.Date(2024, 2, 29, 13, 14, 15, 123000000, time.FixedZone("X", 5*3600)), time.UnixMicro(-1).UTC()} {
			out = append(out, v)
		}
	}
	return out
}

// edgeRows returns rows of tbl: row r takes edge value r of every column
// (cycling), and a last row has NULL in every nullable column.
func edgeRows(tbl schema.Table) [][]any {
	vals := make([][]any, len(tbl.Columns))
	n := 0
	for i, c := range tbl.Columns {
		vals[i] = edgeValues(c.Type)
		n = max(n, len(vals[i]))
	}
	var rows [][]any
	for r := range n {
		row := make([]any, len(tbl.Columns))
		for i := range tbl.Columns {
			row[i] = vals[i][(r+i)%len(vals[i])]
		}
		rows = append(rows, row)
	}
	nulls := make([]any, len(tbl.Columns))
	for i, c := range tbl.Columns {
		if !c.Nullable {
			nulls[i] = vals[i][0]
		}
	}
	return append(rows, nulls)
}

func TestEncodeMatchesHamba(t *testing.T) {
	tbl := edgeTable(t)
	enc, err := event.NewEncoder(tbl)
	if err != nil {
		t.Fatal(err)
	}
	h := eventtest.NewHambaEnc(t, tbl)
	for i, row := range edgeRows(tbl) {
		eventtest.CheckEncode(t, fmt.Sprintf("edge row %d", i), enc, h, row, event.ValueMap(tbl, row), eventtest.CheckOpts{Decode: true, Envelopes: true})
	}
	// The union form of a nullable DATETIME is accepted too.
	row := edgeRows(tbl)[0]
	value := event.ValueMap(tbl, row)
	for i, c := range tbl.Columns {
		if c.Nullable && c.Type.Kind == schema.DateTime {
			row[i] = schematest.DTU(row[i].(int64))
		}
	}
	eventtest.CheckEncode(t, "edge row with DATETIME unions", enc, h, row, value, eventtest.CheckOpts{Envelopes: true})
}

// TestEncodeDecimals checks decimals against hamba one by one: both
// encoding paths (64-bit and big), every byte boundary, values with more
// fractional digits than the scale (hamba rounds towards -inf), and values
// beyond the precision (an error for both).
func TestEncodeDecimals(t *testing.T) {
	for _, typ := range []schema.Type{
		{Kind: schema.Decimal, Precision: 10, Scale: 2}, {Kind: schema.Decimal, Precision: 65, Scale: 30}, {Kind: schema.Decimal, Precision: 1, Scale: 1},
		{Kind: schema.Decimal, Precision: 19, Scale: 0}, {Kind: schema.Decimal, Precision: 20, Scale: 0}, {Kind: schema.Decimal, Precision: 38, Scale: 19},
		{Kind: schema.Decimal, Precision: 30, Scale: 20}, {Kind: schema.BigInt, Unsigned: true}, {Kind: schema.Decimal, Precision: 65, Scale: 0},
	} {
		for _, nullable := range []bool{false, true} {
			tbl := schema.Table{Database: "d", Name: "dec", Key: []string{"c"}, Columns: []schema.Column{{Name: "c", Type: typ, Nullable: nullable}}}
			enc, err := event.NewEncoder(tbl)
			if err != nil {
				t.Fatal(err)
			}
			h := eventtest.NewHambaEnc(t, tbl)
			var vals []*big.Rat
			for bitsN := 0; bitsN <= 220; bitsN++ {
				p := new(big.Int).Lsh(big.NewInt(1), uint(bitsN))
				for _, d := range []int64{-1, 0, 1} {
					i := new(big.Int).Add(p, big.NewInt(d))
					for _, scale := range []int{0, typ.Scale, typ.Scale + 1, typ.Scale + 5} {
						vals = append(vals, decimalOf(i, scale), decimalOf(new(big.Int).Neg(i), scale))
					}
				}
			}
			for _, s := range []string{"1/3", "-1/3", "2/3", "-2/3", "-1/1000000000000000000000000000000000000", "1/7", "-22/7",
				"12345678.91", "-0.01", "0.005", "-0.005", "99999999999999999999999999999999999.999999999999999999999999999999"} {
				vals = append(vals, schematest.Rat(s))
			}
			vals = append(vals, new(big.Rat)) // zero value: uninitialized denominator
			for _, v := range vals {
				row := []any{v}
				eventtest.CheckEncode(t, fmt.Sprintf("%s %s", typ, v.RatString()), enc, h, row, event.ValueMap(tbl, row), eventtest.CheckOpts{})
			}
		}
	}
}

// TestEncodeDecimalBytes pins hamba's decimal bytes (length, then the
// unscaled value), peculiarities included.
func TestEncodeDecimalBytes(t *testing.T) {
	enc := event.ColEncOf(schema.Type{Kind: schema.Decimal, Precision: 30, Scale: 0})
	for in, want := range map[string]string{
		"0": "0200", "1": "0201", "-1": "02ff", "127": "027f", "128": "040080", "-127": "0281",
		"-128":   "04ff80", // minimal would be 80
		"-129":   "04ff7f",
		"-32768": "06ff8000", // minimal would be 8000
		"255":    "0400ff", "-256": "04ff00",
		"18446744073709551615": "1200ffffffffffffffff",
		"-9223372036854775808": "12ff8000000000000000",
		"-1/2":                 "02ff", // floor(-0.5)
	} {
		got, err := event.AppendDecimal(nil, schematest.Rat(in), &enc)
		if err != nil || fmt.Sprintf("%x", got) != want {
			t.Errorf("decimal %s: %x, %v; want %s", in, got, err, want)
		}
	}
}

func TestAppendSource(t *testing.T) {
	h := eventtest.NewHambaEnc(t, schema.Table{Name: "t", Key: []string{"a"}, Columns: []schema.Column{{Name: "a", Type: schema.Type{Kind: schema.Int}}}})
	for i, src := range eventtest.TestSources {
		want, err := h.SrcC.Marshal(eventtest.SourceMap(src))
		if err != nil {
			t.Fatal(err)
		}
		got := event.AppendSource([]byte{7}, src)
		if got[0] != 7 || !bytes.Equal(got[1:], want) {
			t.Errorf("source %d:\nfast  %x\nhamba %x", i, got[1:], want)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	tbl := schema.Table{Database: "shop", Name: "orders", Key: []string{"id"}, Columns: []schema.Column{
		{Name: "id", Type: schema.Type{Kind: schema.Int}},
		{Name: "amount", Type: schema.Type{Kind: schema.Decimal, Precision: 4, Scale: 2}, Nullable: true},
		{Name: "at", Type: schema.Type{Kind: schema.DateTime}, Nullable: true},
	}}
	enc, err := event.NewEncoder(tbl)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		row  []any
		want string // in the error
	}{
		{[]any{"1", nil, nil}, "shop.orders column id: value 1 of type string, want int32"},
		{[]any{int64(1), nil, nil}, "shop.orders column id: value 1 of type int64, want int32"},
		{[]any{nil, nil, nil}, "shop.orders column id: NULL in a NOT NULL column"},
		{[]any{int32(1), schematest.Rat("100"), nil}, "shop.orders column amount: decimal 100.00 does not fit decimal(4,2)"},
		{[]any{int32(1), 1.5, nil}, "shop.orders column amount: value 1.5 of type float64, want *big.Rat"},
		{[]any{int32(1), (*big.Rat)(nil), nil}, "shop.orders column amount"},
		{[]any{int32(1), nil, time.Now()}, "shop.orders column at"},
		{[]any{int32(1), nil, map[string]any{"long": int64(1)}}, "shop.orders column at"},
		{[]any{int32(1), nil}, "shop.orders: row has 2 values, table has 3 columns"},
	} {
		dst := []byte("dst")
		out, err := enc.AppendValue(dst, tc.row)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("AppendValue(%v): %v, want an error containing %q", tc.row, err, tc.want)
		}
		if string(out) != "dst" {
			t.Errorf("AppendValue(%v) changed dst on error: %q", tc.row, out)
		}
		out, err = enc.AppendEnvelope(dst, nil, tc.row, eventtest.TestSources[0], "c", 1)
		if err == nil || string(out) != "dst" {
			t.Errorf("AppendEnvelope(%v): %v, %q", tc.row, err, out)
		}
	}
	if _, err := enc.AppendKey(nil, []any{"x", nil, nil}); err == nil || !strings.Contains(err.Error(), "column id") {
		t.Errorf("AppendKey of a bad key: %v", err)
	}
	if _, err := enc.AppendKey(nil, []any{int32(1), "not a decimal", nil}); err != nil {
		t.Errorf("AppendKey looks at non-key columns: %v", err)
	}

	for _, tc := range []struct {
		tbl  schema.Table
		want error
		msg  string
	}{
		{schema.Table{Name: "t", Columns: []schema.Column{{Name: "a", Type: schema.Type{Kind: schema.Int}}}}, schema.ErrNoKey, "t"},
		{schema.Table{Name: "t", Key: []string{"a"}, Columns: []schema.Column{{Name: "a", Type: schema.Type{Kind: schema.Int}}, {Name: "x", Type: schema.Type{}}}}, schema.ErrUnsupportedType, "column x"},
		{schema.Table{Name: "t", Key: []string{"a"}, Columns: []schema.Column{{Name: "a", Type: schema.Type{Kind: schema.Decimal, Precision: 2, Scale: 3}}}}, nil, "column a"},
		{schema.Table{Name: "t", Key: []string{"b"}, Columns: []schema.Column{{Name: "a", Type: schema.Type{Kind: schema.Int}}}}, nil, "key column b"},
	} {
		_, err := event.NewEncoder(tc.tbl)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("NewEncoder(%+v): %v, want %v naming %q", tc.tbl, err, tc.want, tc.msg)
		}
	}
}

func TestSameKeyAndKeyValues(t *testing.T) {
	tbl := schema.Table{Name: "t", Key: []string{"k2", "K1"}, Columns: []schema.Column{
		{Name: "k1", Type: schema.Type{Kind: schema.Decimal, Precision: 10, Scale: 2}},
		{Name: "v", Type: schema.Type{Kind: schema.VarChar, Length: 10}, Nullable: true},
		{Name: "k2", Type: schema.Type{Kind: schema.Timestamp}},
	}}
	enc, err := event.NewEncoder(tbl)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	a := []any{schematest.Rat("1.5"), "a", at}
	if got := tbl.KeyValues(a); len(got) != 2 || got[0] != at || got[1] != a[0] {
		t.Errorf("KeyValues = %v", got)
	}
	for _, tc := range []struct {
		b    []any
		same bool
	}{
		{[]any{schematest.Rat("1.50"), "other", at.In(time.FixedZone("X", 3600))}, true},
		{[]any{schematest.Rat("1.5"), nil, at.Add(time.Microsecond)}, false},
		{[]any{schematest.Rat("1.501"), nil, at}, true}, // both encode as 150
		{[]any{schematest.Rat("1.51"), nil, at}, false},
		{[]any{nil, nil, at}, false},
		{[]any{"1.5", nil, at}, false},
		{[]any{schematest.Rat("1.5"), nil}, false},
	} {
		if got := enc.SameKey(a, tc.b); got != tc.same {
			t.Errorf("SameKey(%v, %v) = %v, want %v", a, tc.b, got, tc.same)
		}
	}

	// SameKey agrees with the equality of the encoded keys.
	edge := edgeTable(t)
	rows := edgeRows(edge)
	for k := range edge.Columns {
		if k < 2 { // the key columns id and é stay; every other column becomes the key
			continue
		}
		one := edge
		one.Key = []string{edge.Columns[k].Name}
		enc, err := event.NewEncoder(one)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range rows {
			for _, y := range rows {
				kx, err1 := enc.AppendKey(nil, x)
				ky, err2 := enc.AppendKey(nil, y)
				want := err1 == nil && err2 == nil && bytes.Equal(kx, ky)
				if got := enc.SameKey(x, y); got != want {
					t.Errorf("key %s: SameKey(%s, %s) = %v, want %v", one.Key[0], schematest.Show(x[k]), schematest.Show(y[k]), got, want)
				}
			}
		}
	}
}

// fuzzTypes are the column types of the fuzz test.
var fuzzTypes = append(append([]string{}, schematest.EveryType...), "decimal(38,19)", "decimal(19,0)", "decimal(30,20)", "decimal(18,18)")

// fuzzSource reads fuzz input; past its end it reads zeros.
type fuzzSource struct{ b []byte }

func (f *fuzzSource) bytes(n int) []byte {
	out := make([]byte, n)
	k := copy(out, f.b)
	f.b = f.b[k:]
	return out
}

func (f *fuzzSource) byte() byte       { return f.bytes(1)[0] }
func (f *fuzzSource) intn(n int) int   { return int(f.byte()) % n }
func (f *fuzzSource) u64() uint64      { return binary.LittleEndian.Uint64(f.bytes(8)) }
func (f *fuzzSource) u32() uint32      { return binary.LittleEndian.Uint32(f.bytes(4)) }
func (f *fuzzSource) str(n int) []byte { return f.bytes(f.intn(n + 1)) }

// value returns a random value for a column with encoder c (nil for NULL
// in a nullable column).
func (f *fuzzSource) value(c event.ColEnc) any {
	if c.Nullable() && f.intn(5) == 0 {
		return nil
	}
	switch c.Op() {
	case event.OpInt:
		return int32(f.u32())
	case event.OpLong, event.OpLocalTime:
		v := int64(f.u64())
		if f.intn(2) == 0 {
			v >>= f.intn(64) // small values too
		}
		return v
	case event.OpFloat:
		return math.Float32frombits(f.u32())
	case event.OpDouble:
		return math.Float64frombits(f.u64())
	case event.OpString:
		return string(f.str(40))
	case event.OpBytes:
		return f.str(40)
	case event.OpDate, event.OpTimestamp:
		sec := int64(f.u64())
		if f.intn(2) == 0 {
			sec >>= 20 + f.intn(44)
		}
		t := time.Unix(sec, int64(f.u32()%1e9))
		switch f.intn(3) {
		case 0:
			return t.UTC()
		case 1:
			return t.In(time.FixedZone("F", (f.intn(49)-24)*1800))
		}
		return t
	case event.OpDecimal:
		mag := new(big.Int).SetBytes(f.str(30))
		if f.intn(2) == 0 {
			mag.Neg(mag)
		}
		r := new(big.Rat).SetFrac(mag, event.Pow10Big(f.intn(c.Scale()+4)))
		if f.intn(8) == 0 {
			r.Quo(r, big.NewRat(int64(f.intn(250)+1), 1))
		}
		return r
	}
	panic("no op")
}

// fuzzCheck builds a random table shape and rows from data and compares
// the encoder with hamba.
func fuzzCheck(t testing.TB, data []byte) {
	f := &fuzzSource{b: data}
	tbl := schema.Table{Database: "fuzz", Name: "t"}
	ncols := 1 + f.intn(12)
	for i := range ncols {
		typ, err := schema.ParseType(fuzzTypes[f.intn(len(fuzzTypes))])
		if err != nil {
			t.Fatal(err)
		}
		tbl.Columns = append(tbl.Columns, schema.Column{Name: fmt.Sprintf("c%d", i), Type: typ, Nullable: f.intn(2) == 0})
	}
	used := map[int]bool{}
	for range 1 + f.intn(3) {
		k := f.intn(ncols)
		if !used[k] {
			used[k] = true
			tbl.Key = append(tbl.Key, tbl.Columns[k].Name)
		}
	}
	enc, err := event.NewEncoder(tbl)
	if err != nil {
		t.Fatal(err)
	}
	h := eventtest.NewHambaEnc(t, tbl)
	for r := range 2 {
		row := make([]any, ncols)
		for i := range row {
			row[i] = f.value(event.EncoderColumn(enc, i))
		}
		eventtest.CheckEncode(t, fmt.Sprintf("fuzz row %d of %v", r, tbl.Columns), enc, h, row, event.ValueMap(tbl, row), eventtest.CheckOpts{Envelopes: true})
	}
}

func FuzzEncode(f *testing.F) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 32 {
		b := make([]byte, 64+rnd.IntN(400))
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) { fuzzCheck(t, data) })
}

// TestEncodeRandom runs the fuzz check on many random inputs in every test
// run.
func TestEncodeRandom(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	iters := 1000
	if testing.Short() {
		iters = 100
	}
	for range iters {
		b := make([]byte, 600)
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
		fuzzCheck(t, b)
		if t.Failed() {
			return
		}
	}
}

// benchTable is the table of `syncline bench` (bench/data.go, tableColumns)
// and the benchmark rows as BinlogValues gives them, for the encoder
// benchmarks.
func benchTable(tb testing.TB) (schema.Table, [][]any) {
	tb.Helper()
	tbl := eventtest.BenchTableShape()
	var rows [][]any
	for _, raw := range eventtest.BenchBinlogRows() {
		row, err := mysqlvalue.BinlogValues(tbl, raw)
		if err != nil {
			tb.Fatal(err)
		}
		rows = append(rows, row)
	}
	return tbl, rows
}

// BenchmarkEncodeEnvelopeHamba is capture's path: the Value map of the row,
// the source and envelope maps, and hamba's Marshal.
func BenchmarkEncodeEnvelopeHamba(b *testing.B) {
	tbl, rows := benchTable(b)
	h := eventtest.NewHambaEnc(b, tbl)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		row := rows[i%len(rows)]
		i++
		if _, err := h.Envelope(nil, event.ValueMap(tbl, row), eventtest.BenchSource, "c", 1764000000100); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeEnvelopeFast is the Encoder's path into a reused buffer.
func BenchmarkEncodeEnvelopeFast(b *testing.B) {
	tbl, rows := benchTable(b)
	enc, err := event.NewEncoder(tbl)
	if err != nil {
		b.Fatal(err)
	}
	var buf []byte
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		row := rows[i%len(rows)]
		i++
		if buf, err = enc.AppendEnvelope(buf[:0], nil, row, eventtest.BenchSource, "c", 1764000000100); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeEventHamba adds the key, as capture encodes each event.
func BenchmarkEncodeEventHamba(b *testing.B) {
	tbl, rows := benchTable(b)
	h := eventtest.NewHambaEnc(b, tbl)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		row := rows[i%len(rows)]
		i++
		m := event.ValueMap(tbl, row)
		if _, err := h.Key(m); err != nil {
			b.Fatal(err)
		}
		if _, err := h.Envelope(nil, m, eventtest.BenchSource, "c", 1764000000100); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeEventFast adds the key to BenchmarkEncodeEnvelopeFast.
func BenchmarkEncodeEventFast(b *testing.B) {
	tbl, rows := benchTable(b)
	enc, err := event.NewEncoder(tbl)
	if err != nil {
		b.Fatal(err)
	}
	var kbuf, vbuf []byte
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		row := rows[i%len(rows)]
		i++
		if kbuf, err = enc.AppendKey(kbuf[:0], row); err != nil {
			b.Fatal(err)
		}
		if vbuf, err = enc.AppendEnvelope(vbuf[:0], nil, row, eventtest.BenchSource, "c", 1764000000100); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendDecimal encodes the bench table's amounts, DECIMAL(12,2).
func BenchmarkAppendDecimal(b *testing.B) {
	c := event.ColEncOf(schema.Type{Kind: schema.Decimal, Precision: 12, Scale: 2})
	var vals []*big.Rat
	for _, id := range eventtest.BenchIDs() {
		vals = append(vals, schematest.Rat(eventtest.MakeBenchRow(id).Amount))
	}
	var buf []byte
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var err error
		if buf, err = event.AppendDecimal(buf[:0], vals[i%len(vals)], &c); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
