package schema

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/hamba/avro/v2"

	"github.com/syncline/syncline/testenv"
)

// hambaEnc encodes events of one table shape the way capture/publish.go
// does with hamba/avro: maps built from the row values, KeyOf for the key,
// UnionRecord for before and after, a map for the source block.
type hambaEnc struct {
	tbl    Table
	valSch *avro.RecordSchema
	keyC   *Codec
	valC   *Codec
	envC   *Codec
	srcC   *Codec
}

func newHambaEnc(t testing.TB, tbl Table) *hambaEnc {
	t.Helper()
	ns := Namespace("syncline." + tbl.Database + "." + tbl.Name)
	keySch, err := tbl.KeySchema(ns)
	if err != nil {
		t.Fatal(err)
	}
	valSch, err := tbl.ValueSchema(ns)
	if err != nil {
		t.Fatal(err)
	}
	envSch, err := tbl.EnvelopeSchema(ns)
	if err != nil {
		t.Fatal(err)
	}
	srcSch, err := SourceSchema()
	if err != nil {
		t.Fatal(err)
	}
	return &hambaEnc{tbl: tbl, valSch: valSch, keyC: NewCodec(keySch), valC: NewCodec(valSch), envC: NewCodec(envSch), srcC: NewCodec(srcSch)}
}

// sourceMap is capture's source map of s.
func sourceMap(s Source) map[string]any {
	var gtid any
	if s.GTID != "" {
		gtid = s.GTID
	}
	return map[string]any{
		"version": s.Version, "name": s.Name, "db": s.DB, "table": s.Table,
		"server_id": s.ServerID, "gtid": gtid, "file": s.File, "pos": s.Pos,
		"row": s.Row, "ts_ms": s.TSMillis, "snapshot": s.Snapshot,
	}
}

// mapOf returns the Value map of row values (nil for nil).
func (h *hambaEnc) mapOf(vals []any) map[string]any {
	if vals == nil {
		return nil
	}
	return h.tbl.rowMap(vals)
}

func (h *hambaEnc) key(value map[string]any) ([]byte, error) {
	return h.keyC.Marshal(h.tbl.KeyOf(value))
}

func (h *hambaEnc) envelope(before, after map[string]any, src Source, op string, ts int64) ([]byte, error) {
	return h.envC.Marshal(map[string]any{
		"before": UnionRecord(h.valSch, before), "after": UnionRecord(h.valSch, after),
		"source": sourceMap(src), "op": op, "ts_ms": ts,
	})
}

var testSources = []Source{
	{Version: 42<<32 | 4211, Name: "syncline", DB: "shop", Table: "orders", ServerID: 1, GTID: "0-1-1042",
		File: "mysql-bin.000042", Pos: 4211, Row: 3, TSMillis: 1764000000000, Snapshot: "false"},
	{Version: 0, Name: "", DB: "é db", Table: "t", ServerID: 0, GTID: "",
		File: "", Pos: 0, Row: 0, TSMillis: 0, Snapshot: "true"},
	{Version: math.MinInt64, Name: "p", DB: "d", Table: "😀", ServerID: math.MaxUint32, GTID: "3E11FA47-71CA-11E1-9E33-C80AA9429562:23",
		File: "f", Pos: math.MaxUint32, Row: math.MaxInt32, TSMillis: -1, Snapshot: "false"},
}

// checkOpts select the checks of checkEncode.
type checkOpts struct {
	decode    bool // decode the fast bytes with hamba and compare the values
	envelopes bool // check envelopes too, not only key and value
}

// checkEncode checks that enc encodes row (values in column order) to the
// bytes hamba writes for value (the map capture gives hamba for the same
// row): key, value and (with opts.envelopes) envelopes of every op. Errors
// must agree too.
func checkEncode(t testing.TB, what string, enc *Encoder, h *hambaEnc, row []any, value map[string]any, opts checkOpts) {
	t.Helper()
	prefix := []byte("prefix")
	same := func(part string, fast []byte, ferr error, want []byte, herr error) bool {
		t.Helper()
		if (ferr != nil) != (herr != nil) {
			t.Errorf("%s %s: fast error %v, hamba error %v", what, part, ferr, herr)
			return false
		}
		if ferr != nil {
			if !bytes.Equal(fast, prefix) {
				t.Errorf("%s %s: dst changed on error", what, part)
			}
			return false
		}
		if !bytes.HasPrefix(fast, prefix) {
			t.Errorf("%s %s: prefix lost: %x", what, part, fast)
			return false
		}
		if got := fast[len(prefix):]; !bytes.Equal(got, want) {
			t.Errorf("%s %s:\nfast  %x\nhamba %x", what, part, got, want)
			return false
		}
		return true
	}
	p := func() []byte { return append(make([]byte, 0, 8), prefix...) }

	want, herr := h.key(value)
	got, ferr := enc.AppendKey(p(), row)
	if same("key", got, ferr, want, herr) && opts.decode {
		var back map[string]any
		if err := h.keyC.Unmarshal(got[len(prefix):], &back); err != nil {
			t.Errorf("%s: hamba cannot decode the key: %v", what, err)
		}
		compareDecoded(t, what+" key", h.tbl.KeyOf(value), back)
	}

	want, herr = h.valC.Marshal(value)
	got, ferr = enc.AppendValue(p(), row)
	if same("value", got, ferr, want, herr) && opts.decode {
		var back map[string]any
		if err := h.valC.Unmarshal(got[len(prefix):], &back); err != nil {
			t.Errorf("%s: hamba cannot decode the value: %v", what, err)
		}
		compareDecoded(t, what+" value", value, back)
	}

	if !opts.envelopes {
		return
	}
	decode := opts.decode
	for i, src := range testSources {
		for _, ev := range []struct {
			op            string
			before, after []any
		}{{"c", nil, row}, {"r", nil, row}, {"u", row, row}, {"d", row, nil}} {
			var bm, am map[string]any
			if ev.before != nil {
				bm = value
			}
			if ev.after != nil {
				am = value
			}
			ts := int64(1764000000100 + i)
			want, herr := h.envelope(bm, am, src, ev.op, ts)
			got, ferr := enc.AppendEnvelope(p(), ev.before, ev.after, src, ev.op, ts)
			part := fmt.Sprintf("envelope %s (source %d)", ev.op, i)
			if same(part, got, ferr, want, herr) && decode && i == 0 {
				var back map[string]any
				if err := h.envC.Unmarshal(got[len(prefix):], &back); err != nil {
					t.Errorf("%s: hamba cannot decode the %s: %v", what, part, err)
					continue
				}
				if back["op"] != ev.op || back["ts_ms"] != ts {
					t.Errorf("%s %s: decoded op %v ts_ms %v", what, part, back["op"], back["ts_ms"])
				}
				if got := back["source"]; !sameValue(normDecoded(got), normDecoded(sourceMap(src))) {
					t.Errorf("%s %s: decoded source %v", what, part, got)
				}
				for _, f := range []struct {
					name string
					want map[string]any
				}{{"before", bm}, {"after", am}} {
					union, _ := back[f.name].(map[string]any)
					if f.want == nil {
						if back[f.name] != nil {
							t.Errorf("%s %s: decoded %s %v, want null", what, part, f.name, back[f.name])
						}
						continue
					}
					rec, _ := union[h.valSch.FullName()].(map[string]any)
					compareDecoded(t, what+" "+part+" "+f.name, f.want, rec)
				}
			}
		}
	}
}

// normDecoded normalizes a decoded record for comparison: unions unwrapped,
// int and int32 as int64.
func normDecoded(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x["string"]; ok && len(x) == 1 {
			return s
		}
		out := make(map[string]any, len(x))
		for k, w := range x {
			out[k] = normDecoded(w)
		}
		return out
	case int:
		return int64(x)
	case int32:
		return int64(x)
	}
	return v
}

// compareDecoded compares the fields of a record as given to hamba with the
// record hamba decodes.
func compareDecoded(t testing.TB, what string, in, out map[string]any) {
	t.Helper()
	if len(in) != len(out) {
		t.Errorf("%s: decoded %d fields, want %d", what, len(out), len(in))
	}
	for name, v := range in {
		w := out[name]
		if !sameDecoded(v, w) && !sameFloatBits(v, w) {
			t.Errorf("%s field %s: encoded %s, decoded %s", what, name, show(v), show(w))
		}
	}
}

// sameFloatBits compares floats by bits (NaN included), through unions.
func sameFloatBits(in, out any) bool {
	if m, ok := out.(map[string]any); ok && len(m) == 1 {
		for _, v := range m {
			out = v
		}
	}
	switch x := in.(type) {
	case float32:
		y, ok := out.(float32)
		return ok && math.Float32bits(x) == math.Float32bits(y)
	case float64:
		y, ok := out.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	}
	return false
}

// edgeTable has a NOT NULL and a nullable column of every type of
// everyType, names that need sanitizing (with a collision) and a two-column
// key in an order different from the table's.
func edgeTable(t testing.TB) Table {
	t.Helper()
	tbl := Table{Database: "d b", Name: "tàble", Key: []string{"é", "id"}, Columns: []Column{
		{Name: "id", Type: Type{Kind: Int}},
		{Name: "é", Type: Type{Kind: VarChar, Length: 10, Charset: "utf8mb4"}},
		{Name: "odd col-name", Type: Type{Kind: Int}, Nullable: true},
		{Name: "1st", Type: Type{Kind: Int}, Nullable: true},
		{Name: "a b", Type: Type{Kind: Int}, Nullable: true},
		{Name: "a_b", Type: Type{Kind: Int}, Nullable: true},
	}}
	for _, s := range everyType {
		typ, err := ParseType(s)
		if err != nil {
			t.Fatal(err)
		}
		if typ.Kind.IsText() || typ.Kind == Enum || typ.Kind == Set {
			typ.Charset = "utf8mb4"
		}
		tbl.Columns = append(tbl.Columns,
			Column{Name: "nn " + s, Type: typ},
			Column{Name: "n " + s, Type: typ, Nullable: true})
	}
	return tbl
}

// decimalOf returns unscaled / 10^scale.
func decimalOf(unscaled *big.Int, scale int) *big.Rat {
	return new(big.Rat).SetFrac(unscaled, pow10Big(scale))
}

// edgeValues returns valid values of type typ: extremes, varint and byte
// boundaries, sentinels and empty values.
func edgeValues(typ Type) []any {
	enc := colEncOf(typ)
	var out []any
	switch enc.op {
	case opInt:
		for _, v := range []int32{0, 1, -1, 63, -64, 64, -65, 127, -128, 255, 8191, -8192, math.MaxInt32, math.MinInt32, 2024} {
			out = append(out, v)
		}
	case opLong, opLocalTime:
		for _, v := range []int64{0, 1, -1, 63, -64, 1 << 32, math.MaxUint32, math.MaxInt64, math.MinInt64,
			-3020399000000, 3020399000000, micros(9999, 12, 31, 23, 59, 59, 999999), micros(1000, 1, 1, 0, 0, 0, 0)} {
			out = append(out, v)
		}
	case opDecimal:
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
		limit := new(big.Int).Sub(pow10Big(enc.prec), big.NewInt(1))
		ints = append(ints, limit, new(big.Int).Neg(limit))
		for _, i := range ints {
			if new(big.Int).Abs(i).Cmp(pow10Big(enc.prec)) < 0 {
				out = append(out, decimalOf(i, enc.scale))
			}
		}
	case opFloat:
		for _, v := range []float32{0, float32(math.Copysign(0, -1)), 1.5, -3.4028234e38, math.MaxFloat32, math.SmallestNonzeroFloat32,
			float32(math.Inf(1)), float32(math.NaN())} {
			out = append(out, v)
		}
	case opDouble:
		for _, v := range []float64{0, math.Copysign(0, -1), 0.30000000000000004, -1.7976931348623157e308, math.SmallestNonzeroFloat64,
			math.Inf(-1), math.NaN()} {
			out = append(out, v)
		}
	case opString:
		for _, v := range []string{"", "a", "b'c", "x,z", "é😀", "\x00", strings.Repeat("x", 300), `{"a": [1, 2.50]}`} {
			out = append(out, v)
		}
	case opBytes:
		for _, v := range [][]byte{{}, {0}, {1}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x80, 0, 0, 0, 0, 0, 0, 0},
			bytes.Repeat([]byte{0xde, 0xad}, 100), pointWKB(1, 2)} {
			out = append(out, v)
		}
	case opDate:
		for _, v := range []time.Time{date(2024, 2, 29), ZeroDate(), date(1, 1, 1), date(1969, 12, 31), date(9999, 12, 31), date(1970, 1, 1)} {
			out = append(out, v)
		}
	case opTimestamp:
		for _, v := range []time.Time{ZeroTimestamp(), time.Unix(1, 0).UTC(), time.Date(2038, 1, 19, 3, 14, 7, 999999000, time.UTC),
			time.Date(2024, 2, 29, 13, 14, 15, 123000000, time.FixedZone("X", 5*3600)), time.UnixMicro(-1).UTC()} {
			out = append(out, v)
		}
	}
	return out
}

// colEncOf returns the compiled encoder of one column of type typ.
func colEncOf(typ Type) colEnc {
	e, err := NewEncoder(Table{Name: "t", Key: []string{"c"}, Columns: []Column{{Name: "c", Type: typ}}})
	if err != nil {
		panic(err)
	}
	return e.cols[0]
}

// edgeRows returns rows of tbl: row r takes edge value r of every column
// (cycling), and a last row has NULL in every nullable column.
func edgeRows(tbl Table) [][]any {
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
	enc, err := NewEncoder(tbl)
	if err != nil {
		t.Fatal(err)
	}
	h := newHambaEnc(t, tbl)
	for i, row := range edgeRows(tbl) {
		checkEncode(t, fmt.Sprintf("edge row %d", i), enc, h, row, tbl.rowMap(row), checkOpts{decode: true, envelopes: true})
	}
	// The union form of a nullable DATETIME is accepted too.
	row := edgeRows(tbl)[0]
	value := tbl.rowMap(row)
	for i, c := range tbl.Columns {
		if c.Nullable && c.Type.Kind == DateTime {
			row[i] = dtU(row[i].(int64))
		}
	}
	checkEncode(t, "edge row with DATETIME unions", enc, h, row, value, checkOpts{envelopes: true})
}

// TestEncodeDecimals checks decimals against hamba one by one: both
// encoding paths (64-bit and big), every byte boundary, values with more
// fractional digits than the scale (hamba rounds towards -inf), and values
// beyond the precision (an error for both).
func TestEncodeDecimals(t *testing.T) {
	for _, typ := range []Type{
		{Kind: Decimal, Precision: 10, Scale: 2}, {Kind: Decimal, Precision: 65, Scale: 30}, {Kind: Decimal, Precision: 1, Scale: 1},
		{Kind: Decimal, Precision: 19, Scale: 0}, {Kind: Decimal, Precision: 20, Scale: 0}, {Kind: Decimal, Precision: 38, Scale: 19},
		{Kind: Decimal, Precision: 30, Scale: 20}, {Kind: BigInt, Unsigned: true}, {Kind: Decimal, Precision: 65, Scale: 0},
	} {
		for _, nullable := range []bool{false, true} {
			tbl := Table{Database: "d", Name: "dec", Key: []string{"c"}, Columns: []Column{{Name: "c", Type: typ, Nullable: nullable}}}
			enc, err := NewEncoder(tbl)
			if err != nil {
				t.Fatal(err)
			}
			h := newHambaEnc(t, tbl)
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
				vals = append(vals, rat(s))
			}
			vals = append(vals, new(big.Rat)) // zero value: uninitialized denominator
			for _, v := range vals {
				row := []any{v}
				checkEncode(t, fmt.Sprintf("%s %s", typ, v.RatString()), enc, h, row, tbl.rowMap(row), checkOpts{})
			}
		}
	}
}

// TestEncodeDecimalBytes pins hamba's decimal bytes (length, then the
// unscaled value), peculiarities included.
func TestEncodeDecimalBytes(t *testing.T) {
	enc := colEncOf(Type{Kind: Decimal, Precision: 30, Scale: 0})
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
		got, err := appendDecimal(nil, rat(in), &enc)
		if err != nil || fmt.Sprintf("%x", got) != want {
			t.Errorf("decimal %s: %x, %v; want %s", in, got, err, want)
		}
	}
}

func TestAppendSource(t *testing.T) {
	h := newHambaEnc(t, Table{Name: "t", Key: []string{"a"}, Columns: []Column{{Name: "a", Type: Type{Kind: Int}}}})
	for i, src := range testSources {
		want, err := h.srcC.Marshal(sourceMap(src))
		if err != nil {
			t.Fatal(err)
		}
		got := AppendSource([]byte{7}, src)
		if got[0] != 7 || !bytes.Equal(got[1:], want) {
			t.Errorf("source %d:\nfast  %x\nhamba %x", i, got[1:], want)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	tbl := Table{Database: "shop", Name: "orders", Key: []string{"id"}, Columns: []Column{
		{Name: "id", Type: Type{Kind: Int}},
		{Name: "amount", Type: Type{Kind: Decimal, Precision: 4, Scale: 2}, Nullable: true},
		{Name: "at", Type: Type{Kind: DateTime}, Nullable: true},
	}}
	enc, err := NewEncoder(tbl)
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
		{[]any{int32(1), rat("100"), nil}, "shop.orders column amount: decimal 100.00 does not fit decimal(4,2)"},
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
		out, err = enc.AppendEnvelope(dst, nil, tc.row, testSources[0], "c", 1)
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
		tbl  Table
		want error
		msg  string
	}{
		{Table{Name: "t", Columns: []Column{{Name: "a", Type: Type{Kind: Int}}}}, ErrNoKey, "t"},
		{Table{Name: "t", Key: []string{"a"}, Columns: []Column{{Name: "a", Type: Type{Kind: Int}}, {Name: "x", Type: Type{}}}}, ErrUnsupportedType, "column x"},
		{Table{Name: "t", Key: []string{"a"}, Columns: []Column{{Name: "a", Type: Type{Kind: Decimal, Precision: 2, Scale: 3}}}}, nil, "column a"},
		{Table{Name: "t", Key: []string{"b"}, Columns: []Column{{Name: "a", Type: Type{Kind: Int}}}}, nil, "key column b"},
	} {
		_, err := NewEncoder(tc.tbl)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("NewEncoder(%+v): %v, want %v naming %q", tc.tbl, err, tc.want, tc.msg)
		}
	}
}

func TestSameKeyAndKeyValues(t *testing.T) {
	tbl := Table{Name: "t", Key: []string{"k2", "K1"}, Columns: []Column{
		{Name: "k1", Type: Type{Kind: Decimal, Precision: 10, Scale: 2}},
		{Name: "v", Type: Type{Kind: VarChar, Length: 10}, Nullable: true},
		{Name: "k2", Type: Type{Kind: Timestamp}},
	}}
	enc, err := NewEncoder(tbl)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	a := []any{rat("1.5"), "a", at}
	if got := tbl.KeyValues(a); len(got) != 2 || got[0] != at || got[1] != a[0] {
		t.Errorf("KeyValues = %v", got)
	}
	for _, tc := range []struct {
		b    []any
		same bool
	}{
		{[]any{rat("1.50"), "other", at.In(time.FixedZone("X", 3600))}, true},
		{[]any{rat("1.5"), nil, at.Add(time.Microsecond)}, false},
		{[]any{rat("1.501"), nil, at}, true}, // both encode as 150
		{[]any{rat("1.51"), nil, at}, false},
		{[]any{nil, nil, at}, false},
		{[]any{"1.5", nil, at}, false},
		{[]any{rat("1.5"), nil}, false},
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
		enc, err := NewEncoder(one)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range rows {
			for _, y := range rows {
				kx, err1 := enc.AppendKey(nil, x)
				ky, err2 := enc.AppendKey(nil, y)
				want := err1 == nil && err2 == nil && bytes.Equal(kx, ky)
				if got := enc.SameKey(x, y); got != want {
					t.Errorf("key %s: SameKey(%s, %s) = %v, want %v", one.Key[0], show(x[k]), show(y[k]), got, want)
				}
			}
		}
	}
}

// TestBinlogValuesIdentity checks BinlogValues' shortcut: a value it keeps
// as it is must be what the full conversion gives.
func TestBinlogValuesIdentity(t *testing.T) {
	inputs := []any{int8(-1), int16(-1), int32(-1), int64(-1), uint32(1), uint64(1), float32(1.5), 2.5,
		"text", "\xe9", []byte("b"), []byte{0xe9}, time.Duration(1)}
	for _, s := range everyType {
		for _, cs := range []string{"", "utf8mb4", "utf8mb3", "latin1"} {
			typ, err := ParseType(s)
			if err != nil {
				t.Fatal(err)
			}
			if typ.Kind.IsText() || typ.Kind == Enum || typ.Kind == Set {
				typ.Charset = cs
			} else if cs != "" {
				continue
			}
			for _, in := range inputs {
				if !typ.binlogIdentity(in) {
					continue
				}
				full, err := typ.binlogValue(in)
				if err != nil || !sameValue(full, in) {
					t.Errorf("%s (%s) keeps %T %v, but the conversion gives %s, %v", typ, cs, in, in, show(full), err)
				}
			}
		}
	}
	tbl := Table{Name: "t", Columns: []Column{
		{Name: "a", Type: Type{Kind: Int}}, {Name: "b", Type: Type{Kind: Int, Unsigned: true}, Nullable: true},
		{Name: "c", Type: Type{Kind: DateTime}, Nullable: true},
	}}
	vals, err := tbl.BinlogValues([]any{int32(-1), int32(-1), "2024-01-02 03:04:05"})
	if err != nil {
		t.Fatal(err)
	}
	if vals[0] != int32(-1) || vals[1] != int64(math.MaxUint32) || vals[2] != micros(2024, 1, 2, 3, 4, 5, 0) {
		t.Errorf("BinlogValues = %v", vals)
	}
	m, err := tbl.BinlogRow([]any{int32(-1), nil, "2024-01-02 03:04:05"})
	if err != nil {
		t.Fatal(err)
	}
	diffRows(t, "BinlogRow", m, map[string]any{"a": int32(-1), "b": nil, "c": dtU(micros(2024, 1, 2, 3, 4, 5, 0))})
	if _, err := tbl.BinlogValues([]any{int32(1)}); err == nil {
		t.Errorf("BinlogValues of a short row: no error")
	}
	if _, err := tbl.BinlogValues([]any{"x", nil, nil}); err == nil || !strings.Contains(err.Error(), "column a") {
		t.Errorf("BinlogValues of a bad value: %v", err)
	}
	if _, err := tbl.TextValues([]mysql.FieldValue{{}}); err == nil {
		t.Errorf("TextValues of a short row: no error")
	}
}

// TestEncodeAllTypes encodes the rows of the all-types fixture, decoded from
// the binlog and read over the text protocol, and compares with hamba.
func TestEncodeAllTypes(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	conn := connect(t, src, db)
	exec(t, conn, testenv.AllTypesDDL)
	pos := masterPos(t, conn)
	for _, q := range testenv.AllTypesRows {
		exec(t, conn, q)
	}
	n := len(testenv.AllTypesRows)
	for i, r := range readInserts(t, src, pos, db, "all_types", n) {
		tbl, err := FromTableMap(r.table)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := NewEncoder(tbl)
		if err != nil {
			t.Fatal(err)
		}
		vals, err := tbl.BinlogValues(r.row)
		if err != nil {
			t.Fatal(err)
		}
		m, err := tbl.BinlogRow(r.row)
		if err != nil {
			t.Fatal(err)
		}
		checkEncode(t, fmt.Sprintf("binlog row %d", i+1), enc, newHambaEnc(t, tbl), vals, m, checkOpts{decode: true, envelopes: true})
	}

	loaded, err := LoadTable(context.Background(), conn, db, "all_types")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := NewEncoder(loaded)
	if err != nil {
		t.Fatal(err)
	}
	h := newHambaEnc(t, loaded)
	exec(t, conn, "SET SESSION time_zone = '+05:00'")
	var res mysql.Result
	q := "SELECT " + loaded.SelectList() + " FROM all_types ORDER BY id"
	rows := 0
	err = conn.ExecuteSelectStreaming(q, &res, func(row []mysql.FieldValue) error {
		rows++
		vals, err := loaded.TextValues(row)
		if err != nil {
			return err
		}
		m, err := loaded.TextRow(row)
		if err != nil {
			return err
		}
		checkEncode(t, fmt.Sprintf("text row %d", rows), enc, h, vals, m, checkOpts{decode: true, envelopes: true})
		return nil
	}, nil)
	if err != nil || rows != n {
		t.Fatalf("%s: %d rows, %v", q, rows, err)
	}
}

// fuzzTypes are the column types of the fuzz test.
var fuzzTypes = append(append([]string{}, everyType...), "decimal(38,19)", "decimal(19,0)", "decimal(30,20)", "decimal(18,18)")

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
func (f *fuzzSource) value(c colEnc) any {
	if c.nullable && f.intn(5) == 0 {
		return nil
	}
	switch c.op {
	case opInt:
		return int32(f.u32())
	case opLong, opLocalTime:
		v := int64(f.u64())
		if f.intn(2) == 0 {
			v >>= f.intn(64) // small values too
		}
		return v
	case opFloat:
		return math.Float32frombits(f.u32())
	case opDouble:
		return math.Float64frombits(f.u64())
	case opString:
		return string(f.str(40))
	case opBytes:
		return f.str(40)
	case opDate, opTimestamp:
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
	case opDecimal:
		mag := new(big.Int).SetBytes(f.str(30))
		if f.intn(2) == 0 {
			mag.Neg(mag)
		}
		r := new(big.Rat).SetFrac(mag, pow10Big(f.intn(c.scale+4)))
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
	tbl := Table{Database: "fuzz", Name: "t"}
	ncols := 1 + f.intn(12)
	for i := range ncols {
		typ, err := ParseType(fuzzTypes[f.intn(len(fuzzTypes))])
		if err != nil {
			t.Fatal(err)
		}
		tbl.Columns = append(tbl.Columns, Column{Name: fmt.Sprintf("c%d", i), Type: typ, Nullable: f.intn(2) == 0})
	}
	used := map[int]bool{}
	for range 1 + f.intn(3) {
		k := f.intn(ncols)
		if !used[k] {
			used[k] = true
			tbl.Key = append(tbl.Key, tbl.Columns[k].Name)
		}
	}
	enc, err := NewEncoder(tbl)
	if err != nil {
		t.Fatal(err)
	}
	h := newHambaEnc(t, tbl)
	for r := range 2 {
		row := make([]any, ncols)
		for i := range row {
			row[i] = f.value(enc.cols[i])
		}
		checkEncode(t, fmt.Sprintf("fuzz row %d of %v", r, tbl.Columns), enc, h, row, tbl.rowMap(row), checkOpts{envelopes: true})
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
func benchTable(tb testing.TB) (Table, [][]any) {
	tb.Helper()
	tbl := benchTableShape()
	var rows [][]any
	for _, raw := range benchBinlogRows() {
		row, err := tbl.BinlogValues(raw)
		if err != nil {
			tb.Fatal(err)
		}
		rows = append(rows, row)
	}
	return tbl, rows
}

// benchTableShape is the table of `syncline bench`: BIGINT key, two INT,
// DECIMAL(12,2), DOUBLE, VARCHAR(64), nullable VARCHAR(255), TINYINT,
// DATETIME(6) and DATE.
func benchTableShape() Table {
	return Table{Database: "bench", Name: "changes", Key: []string{"id"}, Columns: []Column{
		{Name: "id", Type: Type{Kind: BigInt}},
		{Name: "account", Type: Type{Kind: Int}},
		{Name: "qty", Type: Type{Kind: Int}},
		{Name: "amount", Type: Type{Kind: Decimal, Precision: 12, Scale: 2}},
		{Name: "score", Type: Type{Kind: Double}},
		{Name: "name", Type: Type{Kind: VarChar, Length: 64, Charset: "utf8mb4"}},
		{Name: "note", Type: Type{Kind: VarChar, Length: 255, Charset: "utf8mb4"}, Nullable: true},
		{Name: "status", Type: Type{Kind: TinyInt}},
		{Name: "created", Type: Type{Kind: DateTime, Precision: 6}},
		{Name: "day", Type: Type{Kind: Date}},
	}}
}

// benchRow is one row of the bench table as bench/data.go's rowSelect makes
// it from its id, in text form (nil for NULL).
type benchRow struct {
	id, account, qty, status int64
	amount, name, created    string
	day                      string
	note                     *string
	score                    float64
	createdAt                time.Time
}

// benchIDs are the ids of the benchmark rows: spread over the 2,000,000 ids
// of the bench's snapshot, so the values have realistic lengths.
func benchIDs() []int64 {
	ids := make([]int64, 64)
	for i := range ids {
		ids[i] = 1 + int64(i)*31_249 + int64(i%7)*1_117
	}
	return ids
}

func makeBenchRow(id int64) benchRow {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	cents := id % 100_000
	r := benchRow{
		id: id, account: id % 100_000, qty: id % 1000, status: id % 5,
		amount:    fmt.Sprintf("%d.%02d", cents/100, cents%100),
		score:     float64(id) * 0.5,
		name:      fmt.Sprintf("name-%d", id),
		createdAt: base.Add(time.Duration(id)*time.Second + time.Duration(id%1_000_000)*time.Microsecond),
		day:       base.AddDate(0, 0, int(id%1000)).Format("2006-01-02"),
	}
	r.created = r.createdAt.Format("2006-01-02 15:04:05.000000")
	if id%10 != 0 {
		note := strings.Repeat("n", 40+int(id%60))
		r.note = &note
	}
	return r
}

// benchBinlogRows returns the benchmark rows as go-mysql's replication
// package decodes them with capture's settings (ParseTime, UTC, decimals as
// text).
func benchBinlogRows() [][]any {
	var rows [][]any
	for _, id := range benchIDs() {
		r := makeBenchRow(id)
		var note any
		if r.note != nil {
			note = *r.note
		}
		rows = append(rows, []any{r.id, int32(r.account), int32(r.qty), r.amount, r.score, r.name, note,
			int8(r.status), r.createdAt, r.day})
	}
	return rows
}

// benchTextRows returns the benchmark rows as the text protocol gives them:
// go-mysql's RowData.ParseText of each row packet, as ExecuteSelectStreaming
// hands them to its callback.
func benchTextRows(tb testing.TB) [][]mysql.FieldValue {
	tb.Helper()
	var fields []*mysql.Field
	for _, typ := range []byte{mysql.MYSQL_TYPE_LONGLONG, mysql.MYSQL_TYPE_LONG, mysql.MYSQL_TYPE_LONG,
		mysql.MYSQL_TYPE_NEWDECIMAL, mysql.MYSQL_TYPE_DOUBLE, mysql.MYSQL_TYPE_VAR_STRING, mysql.MYSQL_TYPE_VAR_STRING,
		mysql.MYSQL_TYPE_TINY, mysql.MYSQL_TYPE_DATETIME, mysql.MYSQL_TYPE_DATE} {
		fields = append(fields, &mysql.Field{Type: typ})
	}
	var rows [][]mysql.FieldValue
	for _, id := range benchIDs() {
		r := makeBenchRow(id)
		var packet []byte
		for _, s := range []string{strconv.FormatInt(r.id, 10), strconv.FormatInt(r.account, 10), strconv.FormatInt(r.qty, 10),
			r.amount, strconv.FormatFloat(r.score, 'g', -1, 64), r.name} {
			packet = append(packet, mysql.PutLengthEncodedString([]byte(s))...)
		}
		if r.note == nil {
			packet = append(packet, 0xfb)
		} else {
			packet = append(packet, mysql.PutLengthEncodedString([]byte(*r.note))...)
		}
		for _, s := range []string{strconv.FormatInt(r.status, 10), r.created, r.day} {
			packet = append(packet, mysql.PutLengthEncodedString([]byte(s))...)
		}
		row, err := mysql.RowData(packet).ParseText(fields, nil)
		if err != nil {
			tb.Fatal(err)
		}
		rows = append(rows, row)
	}
	return rows
}

var benchSource = Source{Version: 42<<32 | 4211, Name: "syncline", DB: "shop", Table: "orders", ServerID: 1,
	GTID: "0-1-1042", File: "mysql-bin.000042", Pos: 4211, Row: 0, TSMillis: 1764000000000, Snapshot: "false"}

// BenchmarkEncodeEnvelopeHamba is capture's path: the Value map of the row,
// the source and envelope maps, and hamba's Marshal.
func BenchmarkEncodeEnvelopeHamba(b *testing.B) {
	tbl, rows := benchTable(b)
	h := newHambaEnc(b, tbl)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		row := rows[i%len(rows)]
		i++
		if _, err := h.envelope(nil, tbl.rowMap(row), benchSource, "c", 1764000000100); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeEnvelopeFast is the Encoder's path into a reused buffer.
func BenchmarkEncodeEnvelopeFast(b *testing.B) {
	tbl, rows := benchTable(b)
	enc, err := NewEncoder(tbl)
	if err != nil {
		b.Fatal(err)
	}
	var buf []byte
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		row := rows[i%len(rows)]
		i++
		if buf, err = enc.AppendEnvelope(buf[:0], nil, row, benchSource, "c", 1764000000100); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeEventHamba adds the key, as capture encodes each event.
func BenchmarkEncodeEventHamba(b *testing.B) {
	tbl, rows := benchTable(b)
	h := newHambaEnc(b, tbl)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		row := rows[i%len(rows)]
		i++
		m := tbl.rowMap(row)
		if _, err := h.key(m); err != nil {
			b.Fatal(err)
		}
		if _, err := h.envelope(nil, m, benchSource, "c", 1764000000100); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeEventFast adds the key to BenchmarkEncodeEnvelopeFast.
func BenchmarkEncodeEventFast(b *testing.B) {
	tbl, rows := benchTable(b)
	enc, err := NewEncoder(tbl)
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
		if vbuf, err = enc.AppendEnvelope(vbuf[:0], nil, row, benchSource, "c", 1764000000100); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBinlogRow converts the bench table's binlog rows to maps.
func BenchmarkBinlogRow(b *testing.B) {
	tbl, rows := benchTableShape(), benchBinlogRows()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := tbl.BinlogRow(rows[i%len(rows)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkBinlogValues is capture's conversion of a binlog row.
func BenchmarkBinlogValues(b *testing.B) {
	tbl, rows := benchTableShape(), benchBinlogRows()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := tbl.BinlogValues(rows[i%len(rows)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkTextValues is the snapshot's conversion of a text-protocol row.
func BenchmarkTextValues(b *testing.B) {
	tbl, rows := benchTableShape(), benchTextRows(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := tbl.TextValues(rows[i%len(rows)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
