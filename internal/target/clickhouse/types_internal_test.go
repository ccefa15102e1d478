package clickhouse

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/shopspring/decimal"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/schema"
)

func mustType(t *testing.T, s string) schema.Type {
	t.Helper()
	typ, err := schema.ParseType(s)
	if err != nil {
		t.Fatal(err)
	}
	return typ
}

// TestColumnTypes is the mapping table of docs/targets.md, for servers
// before 22.8 (18.16) and for newer ones.
func TestColumnTypes(t *testing.T) {
	modern := newServer("24.8.4.13", false)
	old := newServer("18.16.1", false)
	for _, c := range []struct{ mysql, old, modern string }{
		{"tinyint", "Int8", "Int8"},
		{"tinyint unsigned", "UInt8", "UInt8"},
		{"smallint", "Int16", "Int16"},
		{"smallint unsigned", "UInt16", "UInt16"},
		{"mediumint", "Int32", "Int32"},
		{"mediumint unsigned", "UInt32", "UInt32"},
		{"int", "Int32", "Int32"},
		{"int unsigned", "UInt32", "UInt32"},
		{"bigint", "Int64", "Int64"},
		{"bigint unsigned", "UInt64", "UInt64"},
		{"decimal(10,2)", "Decimal(10, 2)", "Decimal(10, 2)"},
		{"decimal(38,0)", "Decimal(38, 0)", "Decimal(38, 0)"},
		{"decimal(65,30)", "String", "Decimal(65, 30)"},
		{"float", "Float32", "Float32"},
		{"double", "Float64", "Float64"},
		{"bit(1)", "UInt64", "UInt64"},
		{"bit(64)", "UInt64", "UInt64"},
		{"char(3)", "String", "String"},
		{"varchar(20)", "String", "String"},
		{"longtext", "String", "String"},
		{"json", "String", "String"},
		{"enum('a','b')", "String", "String"},
		{"set('x','y')", "String", "String"},
		{"binary(4)", "String", "String"},
		{"varbinary(4)", "String", "String"},
		{"blob", "String", "String"},
		{"geometry", "String", "String"},
		{"point", "String", "String"},
		{"date", "Int32", "Date32"},
		{"datetime", "Int64", "DateTime64(0, 'UTC')"},
		{"datetime(6)", "Int64", "DateTime64(6, 'UTC')"},
		{"timestamp", "DateTime('UTC')", "DateTime('UTC')"},
		{"timestamp(3)", "Int64", "DateTime64(3, 'UTC')"},
		{"time", "Int64", "Int64"},
		{"time(6)", "Int64", "Int64"},
		{"year", "UInt16", "UInt16"},
		{"uuid", "UUID", "UUID"},
		{"inet4", "String", "IPv4"},
		{"inet6", "String", "IPv6"},
	} {
		typ := mustType(t, c.mysql)
		if got := columnType(typ, old); got != c.old {
			t.Errorf("%s on 18.16: %s, want %s", c.mysql, got, c.old)
		}
		if got := columnType(typ, modern); got != c.modern {
			t.Errorf("%s on 24.8: %s, want %s", c.mysql, got, c.modern)
		}
		// Either form is accepted on either server: an upgrade converts
		// nothing.
		for _, form := range []string{c.old, c.modern} {
			if !acceptable(form, typ, old) || !acceptable(form, typ, modern) {
				t.Errorf("%s: %s not acceptable", c.mysql, form)
			}
		}
	}
	if got := columnType(mustType(t, "date"), newServer("24.8", true)); got != "Int32" {
		t.Errorf("date with IntegerTimes: %s", got)
	}
	if acceptable("Int64", mustType(t, "int"), old) || acceptable("String", mustType(t, "date"), old) {
		t.Error("a wrong type was acceptable")
	}
	if got := columnDef(mustType(t, "int"), old, true); got != "Nullable(Int32)" {
		t.Errorf("nullable int: %s", got)
	}
}

func TestServerCapabilities(t *testing.T) {
	for _, c := range []struct {
		version                                 string
		times, wide, rename, deleted, integerTs bool
	}{
		{"18.16.1", false, false, false, false, false},
		{"20.4.2.9", false, false, true, false, false},
		{"22.7.1", false, false, true, false, false},
		{"22.8.1", true, true, true, false, false},
		{"23.2.1", true, true, true, false, false},
		{"24.1.1", true, true, true, true, false},
		{"25.8.1.1", true, true, true, true, false},
		{"25.8.1.1", false, true, true, true, true},
	} {
		s := newServer(c.version, c.integerTs)
		if !s.uuid || s.ip != versionAtLeast(c.version, 19, 3) {
			t.Errorf("%s: uuid %v, ip %v", c.version, s.uuid, s.ip)
		}
		if s.nativeTimes != c.times || s.wideDecimal != c.wide || s.renameColumn != c.rename || s.isDeleted != c.deleted {
			t.Errorf("%s (integer times %v): %+v", c.version, c.integerTs, s)
		}
	}
	tab := schema.Table{Name: "t", Key: []string{"a", "b`"}}
	if got := engine(tab, newServer("18.16.1", false)); got != "ReplacingMergeTree(`_syncline_version`) ORDER BY (`a`, `b\\``)" {
		t.Errorf("engine on 18.16: %s", got)
	}
	if got := engine(tab, newServer("24.3", false)); got != "ReplacingMergeTree(`_syncline_version`, `_syncline_is_deleted`) ORDER BY (`a`, `b\\``)" {
		t.Errorf("engine on 24.3: %s", got)
	}
}

func TestQuoteAndParse(t *testing.T) {
	if got := quote("a`b\\c\"d'e"); got != "`a\\`b\\\\c\"d'e`" {
		t.Errorf("quote: %s", got)
	}
	for _, name := range []string{"plain", "k`ey", `back\slash`, "we`ird \"ta'ble", "a, b", ""} {
		if got := unquoteIdent(quote(name)); got != name && name != "" {
			t.Errorf("unquote(quote(%q)) = %q", name, got)
		}
	}
	if got := splitList("id, `b c`, `x\\`,y`, toDate(ts, 'UTC')", 0); strings.Join(got, "|") != "id|`b c`|`x\\`,y`|toDate(ts, 'UTC')" {
		t.Errorf("splitList: %q", got)
	}
	if got := splitList("`_syncline_version`, flag) ORDER BY x", ')'); strings.Join(got, "|") != "`_syncline_version`|flag" {
		t.Errorf("splitList to ')': %q", got)
	}
	for full, want := range map[string]bool{
		"ReplacingMergeTree(_syncline_version) ORDER BY id SETTINGS index_granularity = 8192":               true,
		"ReplacingMergeTree(`_syncline_version`, `_syncline_is_deleted`) ORDER BY (a, b)":                   true,
		"ReplicatedReplacingMergeTree('/clickhouse/{shard}/t', '{replica}', _syncline_version) ORDER BY id": true,
		"ReplacingMergeTree ORDER BY id SETTINGS index_granularity = 8192":                                  false,
		"ReplacingMergeTree(other_version) ORDER BY id":                                                     false,
		"ReplacingMergeTree(ver) ORDER BY (id, `_syncline_version`) SETTINGS index_granularity = 8192":      false,
	} {
		if got := (tableInfo{engine: "ReplacingMergeTree", engineFull: full}).versioned(); got != want {
			t.Errorf("versioned(%s) = %v", full, got)
		}
	}
	for s, want := range map[string]chType{
		"Nullable(Decimal(10, 2))":                {family: "Decimal", base: "Decimal(10, 2)", nullable: true, precision: 10, scale: 2},
		"Decimal64(4)":                            {family: "Decimal", base: "Decimal64(4)", precision: 18, scale: 4},
		"DateTime64(6, 'UTC')":                    {family: "DateTime64", base: "DateTime64(6, 'UTC')", precision: 6},
		"LowCardinality(Nullable(String))":        {family: "String", base: "String", nullable: true},
		"FixedString(4)":                          {family: "FixedString", base: "FixedString(4)", length: 4},
		"DateTime('UTC')":                         {family: "DateTime", base: "DateTime('UTC')"},
		"Nullable(DateTime64(3, 'Europe/Paris'))": {family: "DateTime64", base: "DateTime64(3, 'Europe/Paris')", nullable: true, precision: 3},
	} {
		got := parseType(s)
		want.full = s
		if got != want {
			t.Errorf("parseType(%s) = %+v, want %+v", s, got, want)
		}
	}
}

func rat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(s)
	}
	return r
}

// TestConvert checks the conversions of every target type, the refusals
// included: a value a column cannot hold exactly is an error, never a
// changed value.
func TestConvert(t *testing.T) {
	date := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	zeroDT := time.UnixMicro(math.MinInt64).UTC()
	for _, c := range []struct {
		src  string
		typ  string
		v    any
		want any // nil with err set: refused
		err  string
	}{
		{"tinyint", "Int8", int32(-128), int8(-128), ""},
		{"tinyint", "Int8", int32(128), nil, "out of the range"},
		{"tinyint unsigned", "UInt8", int32(255), uint8(255), ""},
		{"int unsigned", "UInt32", int64(4294967295), uint32(4294967295), ""},
		{"bigint unsigned", "UInt64", rat("18446744073709551615"), uint64(math.MaxUint64), ""},
		{"bigint unsigned", "UInt64", rat("18446744073709551616"), nil, "out of the range"},
		{"bigint unsigned", "UInt64", rat("1/2"), nil, "not an integer"},
		{"bit(64)", "UInt64", []byte{0x80, 0, 0, 0, 0, 0, 0, 1}, uint64(1<<63 + 1), ""},
		{"bit(10)", "UInt64", []byte{0x02, 0x05}, uint64(517), ""},
		{"bit(64)", "UInt64", make([]byte, 9), nil, "9 bytes"},
		{"year", "UInt16", int32(2155), uint16(2155), ""},
		{"float", "Float32", float32(3.4028235e38), float32(3.4028235e38), ""},
		{"double", "Float64", 0.1, 0.1, ""},
		{"double", "Float32", 0.1, nil, "not exact"},
		{"decimal(10,2)", "Decimal(10, 2)", rat("-12345678.91"), "-12345678.91", ""},
		{"decimal(10,2)", "Decimal(10, 2)", rat("1/8"), nil, "fractional digits"},
		{"decimal(10,2)", "Decimal(10, 2)", rat("123456789.01"), nil, "more than 10 digits"},
		{"decimal(65,30)", "String", rat("-99999999999999999999999999999999999.999999999999999999999999999999"),
			"-99999999999999999999999999999999999.999999999999999999999999999999", ""},
		{"decimal(65,30)", "String", rat("1.5"), "1.500000000000000000000000000000", ""},
		{"decimal(65,30)", "Decimal(65, 30)", rat("1.5"), "1.500000000000000000000000000000", ""},
		{"varchar(5)", "String", "héllo", "héllo", ""},
		{"blob", "String", []byte{0, 1}, []byte{0, 1}, ""},
		{"binary(4)", "FixedString(2)", []byte{0, 1, 2}, nil, "3 bytes"},
		{"time(6)", "Int64", int64(-3020399000000), int64(-3020399000000), ""},
		// The integer forms of servers before 22.8.
		{"date", "Int32", date(1000, 1, 1), int32(-354285), ""},
		{"date", "Int32", date(1969, 12, 31), int32(-1), ""},
		{"date", "Int32", schema.ZeroDate(), int32(math.MinInt32), ""},
		{"datetime(6)", "Int64", time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC), int64(-1), ""},
		{"datetime", "Int64", zeroDT, int64(math.MinInt64), ""},
		{"timestamp(3)", "Int64", schema.ZeroTimestamp(), int64(math.MinInt64), ""},
		{"timestamp", "DateTime('UTC')", schema.ZeroTimestamp(), time.Unix(0, 0).UTC(), ""},
		{"timestamp", "DateTime('UTC')", time.Unix(1, 0).UTC(), time.Unix(1, 0).UTC(), ""},
		// The native forms of 22.8 and later: the range is refused
		// outside 1900-2299, the zero DATE and DATETIME too; the zero
		// TIMESTAMP is 1970-01-01 00:00:00, which no TIMESTAMP can be.
		{"date", "Date32", date(1900, 1, 1), date(1900, 1, 1), ""},
		{"date", "Date32", date(2299, 12, 31), date(2299, 12, 31), ""},
		{"date", "Date32", date(1899, 12, 31), nil, "out of the range"},
		{"date", "Date32", date(9999, 12, 31), nil, "out of the range"},
		{"date", "Date32", schema.ZeroDate(), nil, "zero date"},
		{"datetime(6)", "DateTime64(6, 'UTC')", time.Date(2299, 12, 31, 23, 59, 59, 999999000, time.UTC), time.Date(2299, 12, 31, 23, 59, 59, 999999000, time.UTC), ""},
		{"datetime(6)", "DateTime64(6, 'UTC')", time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), nil, "out of the range"},
		{"datetime(6)", "DateTime64(3, 'UTC')", time.Date(2000, 1, 1, 0, 0, 0, 1000, time.UTC), nil, "more precise"},
		{"datetime", "DateTime64(0, 'UTC')", zeroDT, nil, "zero date"},
		{"timestamp(6)", "DateTime64(6, 'UTC')", schema.ZeroTimestamp(), time.Unix(0, 0).UTC(), ""},
		// A user's Date and DateTime columns never wrap.
		{"date", "Date", date(1969, 12, 31), nil, "out of the range"},
		{"date", "Date", date(2149, 6, 6), date(2149, 6, 6), ""},
		{"date", "Date", date(2149, 6, 7), nil, "out of the range"},
		{"datetime", "DateTime", time.Date(2106, 2, 7, 6, 28, 16, 0, time.UTC), nil, "out of the range"},
		{"datetime(3)", "DateTime", time.Date(2000, 1, 1, 0, 0, 0, 1e6, time.UTC), nil, "more precise"},
		// NULL.
		{"int", "Nullable(Int32)", nil, nil, ""},
		{"int", "Int32", nil, nil, "NULL"},
	} {
		got, err := convert(c.v, mustType(t, c.src), parseType(c.typ))
		if c.err != "" {
			if err == nil || !errors.Is(err, errBadValue) || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s %v into %s: %v, %v; want an error with %q", c.src, c.v, c.typ, got, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %v into %s: %v", c.src, c.v, c.typ, err)
			continue
		}
		if gt, ok := got.(time.Time); ok {
			if wt, ok := c.want.(time.Time); !ok || !gt.Equal(wt) {
				t.Errorf("%s %v into %s: %v, want %v", c.src, c.v, c.typ, got, c.want)
			}
			continue
		}
		// A Decimal is the unscaled integer with exponent -scale: its text
		// at that exponent is the value with exactly the column's scale.
		if gd, ok := got.(decimal.Decimal); ok {
			if gd.StringFixed(-gd.Exponent()) != c.want {
				t.Errorf("%s %v into %s: %s (exponent %d), want %v", c.src, c.v, c.typ, gd.StringFixed(-gd.Exponent()), gd.Exponent(), c.want)
			}
			continue
		}
		if gb, ok := got.([]byte); ok {
			if string(gb) != string(c.want.([]byte)) {
				t.Errorf("%s %v into %s: %v, want %v", c.src, c.v, c.typ, got, c.want)
			}
			continue
		}
		if got != c.want {
			t.Errorf("%s %v into %s: %#v, want %#v", c.src, c.v, c.typ, got, c.want)
		}
	}
}

// stringer stands for the driver's decimal.Decimal in key matching.
type stringer string

func (s stringer) String() string { return string(s) }

// TestIPAndUUIDValues converts INET4, INET6 and UUID text for the
// native columns of newer servers (18.16 has UUID but not IPv4/IPv6, so
// the end-to-end tests cover only the String forms of those), and checks
// that a change's key and the stored key the driver scans agree.
func TestIPAndUUIDValues(t *testing.T) {
	ip6 := parseType("IPv6")
	v, err := convert("::ffff:1.2.3.4", mustType(t, "inet6"), ip6)
	if err != nil || v != netip.MustParseAddr("::ffff:1.2.3.4") {
		t.Errorf("inet6 into IPv6: %v, %v", v, err)
	}
	if v, err := convert("1::2:3:4:5:6:7", mustType(t, "inet6"), ip6); err != nil ||
		keyString([]any{v}, []chType{ip6}) != keyString([]any{netip.MustParseAddr("1:0:2:3:4:5:6:7")}, []chType{ip6}) {
		t.Errorf("inet6 key: %v, %v", v, err)
	}
	ip4 := parseType("IPv4")
	if v, err := convert("255.255.255.255", mustType(t, "inet4"), ip4); err != nil || v != netip.MustParseAddr("255.255.255.255") {
		t.Errorf("inet4 into IPv4: %v, %v", v, err)
	}
	if keyString([]any{netip.MustParseAddr("1.2.3.4")}, []chType{ip4}) != keyString([]any{net.IPv4(1, 2, 3, 4)}, []chType{ip4}) {
		t.Error("IPv4 keys of netip.Addr and net.IP differ")
	}
	if _, err := convert("::1", mustType(t, "inet4"), ip4); !errors.Is(err, errBadValue) {
		t.Errorf("IPv6 address into IPv4: %v", err)
	}
	if _, err := convert(nil, mustType(t, "uuid"), parseType("UUID")); !errors.Is(err, errBadValue) {
		t.Errorf("NULL into UUID: %v", err)
	}
	if v := zeroValue(parseType("UUID"), nil); v != "00000000-0000-0000-0000-000000000000" {
		t.Errorf("UUID default: %v", v)
	}
}

func TestKeyString(t *testing.T) {
	types := []chType{parseType("String"), parseType("Decimal(10, 2)"), parseType("Int32")}
	a := keyString([]any{"k", "0.50", int32(7)}, types)
	b := keyString([]any{"k", stringer("0.5"), int32(7)}, types)
	if a != b {
		t.Errorf("%q != %q", a, b)
	}
	if keyString([]any{"k|", "1", int32(7)}, types) == keyString([]any{"k", "|1", int32(7)}, types) {
		t.Error("keys run together")
	}
}

func TestClassify(t *testing.T) {
	if err := classify(errors.New("x")); apply.IsRetryable(err) {
		t.Error("an unknown error is retryable")
	}
	if err := classify(errBadValue); apply.IsRetryable(err) {
		t.Error("a refused value is retryable")
	}
}

// TestConvertIntegerEdges converts the bounds of every integer column and
// the values just beyond them, from each Go type a change may hold, and
// checks the refusals word the value exactly as before.
func TestConvertIntegerEdges(t *testing.T) {
	minU := new(big.Int).SetInt64(0)
	for _, c := range []struct {
		family string
		lo, hi *big.Int
		want   func(*big.Int) any
	}{
		{"Int8", big.NewInt(math.MinInt8), big.NewInt(math.MaxInt8), func(n *big.Int) any { return int8(n.Int64()) }},
		{"Int16", big.NewInt(math.MinInt16), big.NewInt(math.MaxInt16), func(n *big.Int) any { return int16(n.Int64()) }},
		{"Int32", big.NewInt(math.MinInt32), big.NewInt(math.MaxInt32), func(n *big.Int) any { return int32(n.Int64()) }},
		{"Int64", big.NewInt(math.MinInt64), big.NewInt(math.MaxInt64), func(n *big.Int) any { return n.Int64() }},
		{"UInt8", minU, big.NewInt(math.MaxUint8), func(n *big.Int) any { return uint8(n.Uint64()) }},
		{"UInt16", minU, big.NewInt(math.MaxUint16), func(n *big.Int) any { return uint16(n.Uint64()) }},
		{"UInt32", minU, big.NewInt(math.MaxUint32), func(n *big.Int) any { return uint32(n.Uint64()) }},
		{"UInt64", minU, new(big.Int).SetUint64(math.MaxUint64), func(n *big.Int) any { return n.Uint64() }},
	} {
		one := big.NewInt(1)
		below, above := new(big.Int).Sub(c.lo, one), new(big.Int).Add(c.hi, one)
		for _, typ := range []string{c.family, "Nullable(" + c.family + ")"} {
			ct := parseType(typ)
			src := mustType(t, "bigint")
			// Every Go form of n a change may hold: int32, int64, *big.Rat.
			forms := func(n *big.Int) []any {
				out := []any{new(big.Rat).SetInt(n)}
				if n.IsInt64() {
					out = append(out, n.Int64())
					if x := n.Int64(); x >= math.MinInt32 && x <= math.MaxInt32 {
						out = append(out, int32(x))
					}
				}
				return out
			}
			for _, n := range []*big.Int{c.lo, c.hi} {
				for _, v := range forms(n) {
					got, err := convert(v, src, ct)
					if err != nil || got != c.want(n) {
						t.Errorf("%T %s into %s: %#v, %v; want %#v", v, n, typ, got, err, c.want(n))
					}
				}
			}
			for _, n := range []*big.Int{below, above} {
				want := "value cannot be written: " + n.String() + " is out of the range of a " + typ + " column"
				for _, v := range forms(n) {
					got, err := convert(v, src, ct)
					if err == nil || !errors.Is(err, errBadValue) || err.Error() != want {
						t.Errorf("%T %s into %s: %#v, %v; want the error %q", v, n, typ, got, err, want)
					}
				}
			}
		}
	}
	// BIT bytes: the largest and a 9-byte value.
	ct := parseType("UInt64")
	if got, err := convert([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, mustType(t, "bit(64)"), ct); err != nil || got != uint64(math.MaxUint64) {
		t.Errorf("bit(64) of ones: %#v, %v", got, err)
	}
	if got, err := convert([]byte{0x80, 0, 0, 0, 0, 0, 0, 0}, mustType(t, "bit(64)"), parseType("Int64")); err == nil ||
		err.Error() != "value cannot be written: 9223372036854775808 is out of the range of a Int64 column" {
		t.Errorf("bit(64) 2^63 into Int64: %#v, %v", got, err)
	}
	// A BIGINT UNSIGNED beyond any integer, and a fraction.
	if _, err := convert(rat("-18446744073709551616"), mustType(t, "bigint unsigned"), ct); err == nil ||
		err.Error() != "value cannot be written: -18446744073709551616 is out of the range of a UInt64 column" {
		t.Errorf("-2^64: %v", err)
	}
	if _, err := convert(rat("7/2"), mustType(t, "bigint unsigned"), ct); err == nil ||
		err.Error() != "value cannot be written: 7/2 is not an integer, for a UInt64 column" {
		t.Errorf("7/2: %v", err)
	}
	// Integers into Bool, and the types a column refuses.
	for v, want := range map[any]any{int32(1): true, int64(0): false, true: true} {
		if got, err := convert(v, mustType(t, "tinyint"), parseType("Bool")); err != nil || got != want {
			t.Errorf("%#v into Bool: %#v, %v", v, got, err)
		}
	}
	if _, err := convert(int32(2), mustType(t, "tinyint"), parseType("Bool")); err == nil || err.Error() != "value cannot be written: 2 for a Bool column" {
		t.Errorf("2 into Bool: %v", err)
	}
	if _, err := convert("1", mustType(t, "int"), parseType("Int32")); err == nil || err.Error() != "value cannot be written: string for a Int32 column" {
		t.Errorf("a string into Int32: %v", err)
	}
	if _, err := convert(time.Unix(0, 0), mustType(t, "date"), parseType("UInt32")); err == nil || err.Error() != "value cannot be written: a time for a UInt32 column" {
		t.Errorf("a time into UInt32: %v", err)
	}
}

// TestConvertDecimalEdges converts decimals at the limits of precision and
// scale, negative ones, and the values just beyond, into Decimal columns of
// each width (Decimal32 to Decimal256).
func TestConvertDecimalEdges(t *testing.T) {
	nines := func(n int) string { return strings.Repeat("9", n) }
	for _, c := range []struct {
		typ  string
		v    any
		want string // the value at the column's scale; "" with err
		err  string
	}{
		{"Decimal(9, 2)", rat("-9999999.99"), "-9999999.99", ""},
		{"Decimal(9, 2)", rat("9999999.99"), "9999999.99", ""},
		{"Decimal(9, 2)", rat("-10000000"), "", "value cannot be written: -10000000.00 has more than 9 digits, for a Decimal(9, 2) column"},
		{"Decimal(9, 2)", rat("-0.001"), "", "value cannot be written: -0.001 has more than 2 fractional digits, for a Decimal(9, 2) column"},
		{"Decimal(9, 2)", rat("-1/3"), "", "value cannot be written: -0.3333"},
		{"Decimal(9, 2)", rat("-0.01"), "-0.01", ""},
		{"Decimal(9, 2)", rat("0"), "0.00", ""},
		{"Decimal(9, 0)", int32(-999999999), "-999999999", ""},
		{"Decimal(9, 0)", int32(math.MinInt32), "", "value cannot be written: -2147483648 has more than 9 digits, for a Decimal(9, 0) column"},
		{"Decimal(18, 4)", rat("-" + nines(14) + "." + nines(4)), "-" + nines(14) + "." + nines(4), ""},
		{"Decimal(18, 18)", rat("0." + nines(18)), "0." + nines(18), ""},
		{"Decimal(18, 18)", rat("-1"), "", "value cannot be written: -1.000000000000000000 has more than 18 digits, for a Decimal(18, 18) column"},
		{"Decimal(19, 0)", int64(math.MinInt64), "-9223372036854775808", ""},
		{"Decimal(21, 2)", int64(math.MaxInt64), "9223372036854775807.00", ""},
		{"Decimal(20, 2)", int64(math.MaxInt64), "", "value cannot be written: 9223372036854775807.00 has more than 20 digits, for a Decimal(20, 2) column"},
		{"Decimal(38, 10)", rat("-" + nines(28) + "." + nines(10)), "-" + nines(28) + "." + nines(10), ""},
		{"Decimal(38, 10)", rat(nines(29)), "", "value cannot be written: " + nines(29) + ".0000000000 has more than 38 digits, for a Decimal(38, 10) column"},
		{"Decimal(38, 0)", rat("18446744073709551615"), "18446744073709551615", ""},
		// Decimal256 (servers from 22.8): DECIMAL(65,30) and the widest.
		{"Decimal(65, 30)", rat("-" + nines(35) + "." + nines(30)), "-" + nines(35) + "." + nines(30), ""},
		{"Decimal(65, 30)", rat("1.5"), "1.500000000000000000000000000000", ""},
		{"Decimal(76, 0)", rat(nines(76)), nines(76), ""},
		{"Decimal(76, 76)", rat("-0." + nines(76)), "-0." + nines(76), ""},
		{"Decimal256(10)", rat("-12.5"), "-12.5000000000", ""},
		{"Nullable(Decimal(10, 2))", rat("-12345678.91"), "-12345678.91", ""},
		{"Decimal(10, 2)", 1.5, "", "value cannot be written: float64 for a Decimal(10, 2) column"},
	} {
		got, err := convert(c.v, mustType(t, "decimal(65,30)"), parseType(c.typ))
		if c.err != "" || c.want == "" {
			if err == nil || !errors.Is(err, errBadValue) || !strings.HasPrefix(err.Error(), c.err) {
				t.Errorf("%v into %s: %v, %v; want the error %q", c.v, c.typ, got, err, c.err)
			}
			continue
		}
		d, ok := got.(decimal.Decimal)
		if err != nil || !ok || d.Exponent() != -int32(parseType(c.typ).scale) || d.StringFixed(-d.Exponent()) != c.want {
			t.Errorf("%v into %s: %#v, %v; want %s", c.v, c.typ, got, err, c.want)
		}
	}
}

// TestDecimalPathsAgree checks the int64 arithmetic of decimal conversion
// against the math/big one on values around its limits.
func TestDecimalPathsAgree(t *testing.T) {
	nums := []int64{0, 1, -1, 7, -99, 12345, math.MaxInt64, math.MinInt64, math.MaxInt64 / 10, math.MinInt64 / 100, 999999999, -1000000000}
	dens := []int64{1, 2, 4, 5, 8, 10, 16, 25, 100, 125, 1000, 3, 7, 1 << 20, 1e18}
	for _, typ := range []string{"Decimal(9, 0)", "Decimal(9, 2)", "Decimal(10, 2)", "Decimal(18, 4)", "Decimal(18, 18)", "Decimal(19, 2)", "Decimal(20, 6)", "Decimal(38, 10)", "Decimal(76, 19)"} {
		ct := parseType(typ)
		conv := decimalConv(ct)
		for _, n := range nums {
			for _, d := range dens {
				r := big.NewRat(n, d)
				got, gotErr := conv(r)
				want, wantErr := exactDecimal(r, ct)
				if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() ||
					gotErr == nil && (!got.Equal(want) || got.Exponent() != want.Exponent()) {
					t.Errorf("%s into %s: %v, %v; math/big: %v, %v", r.RatString(), typ, got, gotErr, want, wantErr)
				}
			}
		}
	}
}

// driverColumn lets a column of the driver stand for a batch's column.
type driverColumn struct{ column.Interface }

func (c driverColumn) Append(v any) error {
	_, err := c.Interface.Append(v)
	return err
}

// TestValuesIntoDriverColumns fills each kind of column values, NULLs and
// defaults included, appends them to the driver's column of the type, and
// reads back what the driver would send.
func TestValuesIntoDriverColumns(t *testing.T) {
	epoch := time.Unix(0, 0).UTC()
	day := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
	nines := strings.Repeat("9", 35) + "." + strings.Repeat("9", 30)
	for _, c := range []struct {
		src, typ string
		vals     []any // nil: NULL; missing: the default
		want     []string
	}{
		{"int", "Int32", []any{int32(math.MinInt32), int32(math.MaxInt32), missing{}}, []string{"-2147483648", "2147483647", "0"}},
		{"int", "Nullable(Int32)", []any{int32(-1), nil, missing{}}, []string{"-1", "NULL", "NULL"}},
		{"bigint unsigned", "UInt64", []any{rat("18446744073709551615"), int64(0)}, []string{"18446744073709551615", "0"}},
		{"bigint unsigned", "Nullable(UInt64)", []any{nil, rat("18446744073709551615")}, []string{"NULL", "18446744073709551615"}},
		{"tinyint", "Int8", []any{int32(-128), int32(127)}, []string{"-128", "127"}},
		{"double", "Nullable(Float64)", []any{-0.5, nil}, []string{"-0.5", "NULL"}},
		{"float", "Float32", []any{float32(1.5), missing{}}, []string{"1.5", "0"}},
		{"decimal(10,2)", "Decimal(10, 2)", []any{rat("-12345678.91"), missing{}, rat("0.1")}, []string{"-12345678.91", "0", "0.1"}},
		{"decimal(10,2)", "Nullable(Decimal(10, 2))", []any{nil, rat("-0.01"), missing{}}, []string{"NULL", "-0.01", "NULL"}},
		{"decimal(18,4)", "Decimal(18, 4)", []any{rat("-99999999999999.9999")}, []string{"-99999999999999.9999"}},
		{"decimal(38,10)", "Decimal(38, 10)", []any{rat("-" + strings.Repeat("9", 28) + ".5")}, []string{"-" + strings.Repeat("9", 28) + ".5"}},
		{"decimal(65,30)", "Decimal(65, 30)", []any{rat(nines), rat("-" + nines), missing{}}, []string{nines, "-" + nines, "0"}},
		{"decimal(65,30)", "Nullable(Decimal(65, 30))", []any{nil, rat("-1.5")}, []string{"NULL", "-1.5"}},
		{"varchar(5)", "String", []any{"héllo", missing{}}, []string{"héllo", ""}},
		{"varchar(5)", "Nullable(String)", []any{nil, "x"}, []string{"NULL", "x"}},
		{"blob", "Nullable(String)", []any{[]byte{0, 1}, nil, missing{}}, []string{"\x00\x01", "NULL", "NULL"}},
		{"date", "Date32", []any{day, missing{}}, []string{day.String(), epoch.String()}},
		{"datetime(6)", "Nullable(DateTime64(6, 'UTC'))", []any{nil, day.Add(time.Microsecond)}, []string{"NULL", day.Add(time.Microsecond).String()}},
	} {
		ct := parseType(c.typ)
		vals := newValues(mustType(t, c.src), ct, nil, len(c.vals))
		for _, v := range c.vals {
			if _, ok := v.(missing); ok {
				vals.addDefault()
				continue
			}
			if err := vals.add(v); err != nil {
				t.Fatalf("%s: %v: %v", c.typ, v, err)
			}
		}
		col, err := column.Type(c.typ).Column("x", &column.ServerContext{Timezone: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		if err := vals.appendTo(driverColumn{col}); err != nil {
			t.Fatalf("%s: %v", c.typ, err)
		}
		if col.Rows() != len(c.want) {
			t.Fatalf("%s: %d rows, want %d", c.typ, col.Rows(), len(c.want))
		}
		for i, want := range c.want {
			got := "NULL"
			if v := reflect.ValueOf(col.Row(i, true)); v.IsValid() && !(v.Kind() == reflect.Pointer && v.IsNil()) {
				got = fmt.Sprint(reflect.Indirect(v).Interface())
			}
			if got != want {
				t.Errorf("%s row %d: %q, want %q", c.typ, i, got, want)
			}
		}
	}
}

// missing stands for a value a row lacks in TestValuesIntoDriverColumns.
type missing struct{}
