package clickhouse

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

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
