package postgres

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/syncline/syncline/schema"
)

// TestAppendCopy checks that COPY's encoder writes, for every pair of Go
// type and column type it encodes itself, what pgx writes for the value
// convert returns (numerics: the same number), and that it leaves to the
// statements what it should.
func TestAppendCopy(t *testing.T) {
	rat := func(s string) *big.Rat {
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatal(s)
		}
		return r
	}
	times := []any{
		time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), time.Date(1000, 1, 1, 23, 59, 59, 123456789, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC), time.Date(2000, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(1969, 7, 20, 20, 17, 40, 500, time.UTC),
		time.Date(2024, 5, 1, 12, 0, 0, 0, time.FixedZone("x", 7200)),
		schema.ZeroDate(), schema.ZeroTimestamp(), time.UnixMicro(math.MinInt64).UTC(),
	}
	decimals := []any{
		int32(0), int32(-7), int32(math.MaxInt32), int32(math.MinInt32), int64(0), int64(123456789012), int64(math.MaxInt64), int64(math.MinInt64),
		rat("0"), rat("1"), rat("-1"), rat("0.5"), rat("-0.05"), rat("123.45"), rat("1234.5"), rat("12345.6789"), rat("10000"),
		rat("99999999.99"), rat("0.0001"), rat("0.00001"), rat("-0.000000000000001"), rat("1234567890123456.7"),
		rat("9223372036854775807"), rat("-9223372036854775807"), rat("18446744073709551615"), rat("92233720368547.75807"),
		rat("0.1234567890123456"), rat("0.12345678901234567"), rat("-12345678901234567890.0123456789"), rat("1/3"),
		rat("100000000"), rat("0.00000001"), rat("5e-17"),
	}
	cases := []struct {
		pgType string
		vals   []any
	}{
		{"smallint", []any{int32(0), int32(-32768), int32(32767), int32(32768), int64(-32769), int64(5)}},
		{"integer", []any{int32(math.MinInt32), int32(math.MaxInt32), int64(math.MaxInt32 + 1), int64(-1)}},
		{"bigint", []any{int32(-1), int64(math.MinInt64), int64(math.MaxInt64), rat("18446744073709551615"), 1.5}},
		{"numeric(12,2)", decimals},
		{"numeric(65,30)", decimals},
		{"numeric(20,0)", decimals},
		{"real", []any{float32(3.4028235e38), float32(-0.0), float32(math.Inf(1)), float32(math.NaN()), 0.1, int32(3)}},
		{"double precision", []any{0.1, math.Inf(-1), math.NaN(), math.MaxFloat64, float32(0.1), int64(7)}},
		{"character varying(20)", []any{"", "héllo 😀", "a\x00b", int32(5), 2.5, time.Date(2024, 1, 2, 3, 4, 5, 600000000, time.UTC), schema.ZeroDate()}},
		{"text", []any{"text", string(make([]byte, 1000)), []byte("x")}},
		{"character(3)", []any{"ab"}},
		{"jsonb", []any{`{"a": [1, 2]}`, `"x"`}},
		{"json", []any{`{"a": [1, 2]}`}},
		{"bytea", []any{[]byte{}, []byte{0, 1, 255}, "str"}},
		{"bit(10)", []any{[]byte{0x02, 0x05}, []byte{0xff, 0xff}}},
		{"bit varying(64)", []any{[]byte{1, 2, 3}}},
		{"date", times},
		{"timestamp(6) without time zone", times},
		{"timestamp(0) without time zone", times},
		{"timestamp(3) with time zone", times},
		{"interval", []any{int64(0), int64(-(838*3600+59*60+58)*1e6 - 999999), int64(math.MaxInt64), int32(5)}},
	}
	m := pgtype.NewMap()
	for _, tc := range cases {
		kind := KindOf(tc.pgType)
		c := column{Column: schema.Column{Name: "c"}, pgType: tc.pgType, kind: kind, array: arrayType(tc.pgType)}
		oid := oidOf(c.array)
		if oid == 0 {
			t.Fatalf("%s: no OID for %q", tc.pgType, c.array)
		}
		for _, v := range append(tc.vals, nil) {
			name := fmt.Sprintf("%s %T %v", tc.pgType, v, v)
			got, err := appendCopy([]byte("prefix"), c, oid, v, m)
			// What the statements bind: convert's value, encoded by pgx.
			want, wantErr := convert(v, kind, tc.pgType)
			if wantErr == nil && isNatural(kind, want) {
				var enc []byte
				if enc, wantErr = m.Encode(oid, pgtype.BinaryFormatCode, want, make([]byte, 0, 16)); wantErr == nil {
					if enc == nil {
						want = binary.BigEndian.AppendUint32(nil, math.MaxUint32)
					} else {
						want = append(binary.BigEndian.AppendUint32(nil, uint32(len(enc))), enc...)
					}
				}
			} else if wantErr == nil {
				wantErr = errors.New("not natural")
			}
			if wantErr != nil {
				if !errors.Is(err, errNoCopy) {
					t.Errorf("%s: got %x, %v; want errNoCopy (the statements: %v)", name, got, err, wantErr)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v; want %x", name, err, want)
				continue
			}
			if !bytes.HasPrefix(got, []byte("prefix")) {
				t.Fatalf("%s: the buffer lost its prefix", name)
			}
			got = got[len("prefix"):]
			if oid == pgtype.NumericOID && v != nil {
				if g, w := decodeNumeric(t, m, got), decodeNumeric(t, m, want.([]byte)); g.Cmp(w) != 0 {
					t.Errorf("%s: got %s (%x), want %s (%x)", name, g.RatString(), got, w.RatString(), want)
				}
				if gs, ws := binary.BigEndian.Uint16(got[10:]), binary.BigEndian.Uint16(want.([]byte)[10:]); gs != ws {
					t.Errorf("%s: display scale %d, want %d", name, gs, ws)
				}
				continue
			}
			if !bytes.Equal(got, want.([]byte)) {
				t.Errorf("%s: got %x, want %x", name, got, want)
			}
		}
	}
}

// decodeNumeric decodes a COPY field of numeric's binary format.
func decodeNumeric(t *testing.T, m *pgtype.Map, field []byte) *big.Rat {
	t.Helper()
	n := int(int32(binary.BigEndian.Uint32(field)))
	if n != len(field)-4 {
		t.Fatalf("numeric field of %d bytes says %d", len(field)-4, n)
	}
	var v pgtype.Numeric
	if err := m.Scan(pgtype.NumericOID, pgtype.BinaryFormatCode, field[4:], &v); err != nil {
		t.Fatalf("decode %x: %v", field, err)
	}
	r := new(big.Rat).SetInt(v.Int)
	e := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(int64(v.Exp)))), nil))
	if v.Exp < 0 {
		return r.Quo(r, e)
	}
	return r.Mul(r, e)
}

// TestCopyReader checks the COPY stream: header, the rows not skipped in
// order, trailer, whatever the size of the reads.
func TestCopyReader(t *testing.T) {
	cols := []column{{Column: schema.Column{Name: "id"}, pgType: "bigint", kind: KindInt, array: arrayType("bigint")},
		{Column: schema.Column{Name: "s"}, pgType: "text", kind: KindText, array: arrayType("text")}}
	v := newValues(cols, 0)
	for i := range 20000 {
		v.add([]any{int64(i), fmt.Sprint("row ", i)}, int64(i+100))
	}
	skip := make([]bool, 20000)
	for i := range skip {
		skip[i] = i%3 == 0
	}
	for _, s := range [][]bool{nil, skip} {
		r, err := newCopyReader(v, s)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		p := make([]byte, 7919)
		for {
			n, err := r.Read(p)
			got.Write(p[:n])
			if err != nil {
				break
			}
		}
		r.close()
		if r.err != nil {
			t.Fatal(r.err)
		}
		want := bytes.NewBuffer(append([]byte(nil), copyHeader...))
		for i := range 20000 {
			if s != nil && s[i] {
				continue
			}
			row := binary.BigEndian.AppendUint16(nil, 3)
			row = binary.BigEndian.AppendUint32(row, 8)
			row = binary.BigEndian.AppendUint64(row, uint64(i))
			str := fmt.Sprint("row ", i)
			row = binary.BigEndian.AppendUint32(row, uint32(len(str)))
			row = append(row, str...)
			row = binary.BigEndian.AppendUint32(row, 8)
			row = binary.BigEndian.AppendUint64(row, uint64(i+100))
			want.Write(row)
		}
		want.Write(copyTrailer)
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("skip %v: stream of %d bytes differs from the %d expected", s != nil, got.Len(), want.Len())
		}
	}
}
