// Package schematest holds the comparison helpers of the tests of the row
// values (package schema's representation): they are imported by tests
// only, never by the binary.
package schematest

import (
	"bytes"
	"fmt"
	"github.com/syncline/syncline/schema"
	"math"
	"math/big"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
)

// SameValue compares two converted values: *big.Rat by value, time.Time by
// instant (and location name), []byte by content, maps recursively, the rest
// by type and ==.
func SameValue(a, b any) bool {
	switch x := a.(type) {
	case *big.Rat:
		y, ok := b.(*big.Rat)
		return ok && x.Cmp(y) == 0
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y) && x.Location().String() == y.Location().String()
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !SameValue(v, w) {
				return false
			}
		}
		return true
	}
	return reflect.TypeOf(a) == reflect.TypeOf(b) && a == b
}

func Show(v any) string {
	switch x := v.(type) {
	case *big.Rat:
		return "Rat(" + x.RatString() + ")"
	case time.Time:
		return x.Format(time.RFC3339Nano) + " " + x.Location().String()
	case nil:
		return "nil"
	}
	return fmt.Sprintf("%T(%#v)", v, v)
}

// DiffRows reports every field where got and want differ.
func DiffRows(t *testing.T, what string, got, want map[string]any) {
	t.Helper()
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, gok := got[k]
		w, wok := want[k]
		if gok != wok || !SameValue(g, w) {
			t.Errorf("%s field %s: got %s, want %s", what, k, Show(g), Show(w))
		}
	}
}

// DiffTables reports the differences between two tables.
func DiffTables(t *testing.T, what string, got, want schema.Table) {
	t.Helper()
	if got.Equal(want) {
		return
	}
	if got.Database != want.Database || got.Name != want.Name {
		t.Errorf("%s: table %s.%s, want %s.%s", what, got.Database, got.Name, want.Database, want.Name)
	}
	if !EqualStrings(got.Key, want.Key) {
		t.Errorf("%s: key %v, want %v", what, got.Key, want.Key)
	}
	n := max(len(got.Columns), len(want.Columns))
	for i := range n {
		var g, w schema.Column
		if i < len(got.Columns) {
			g = got.Columns[i]
		}
		if i < len(want.Columns) {
			w = want.Columns[i]
		}
		if g.Name != w.Name || g.Nullable != w.Nullable || !g.Type.Equal(w.Type) {
			t.Errorf("%s: column %d is %q %s (charset %q, nullable %v), want %q %s (charset %q, nullable %v)",
				what, i, g.Name, g.Type, g.Type.Charset, g.Nullable, w.Name, w.Type, w.Type.Charset, w.Nullable)
		}
	}
}

func EqualStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func ColumnNames(t schema.Table) []string {
	var out []string
	for _, c := range t.Columns {
		out = append(out, c.Name)
	}
	return out
}

// RoundTrip encodes value with s, decodes it, and checks that the decoded
// record holds the same values (in hamba's decoded forms).
func RoundTrip(t *testing.T, s *avro.RecordSchema, value map[string]any) {
	t.Helper()
	data, err := avro.Marshal(s, value)
	if err != nil {
		t.Fatalf("encode %s: %v", s.FullName(), err)
	}
	var back map[string]any
	if err := avro.Unmarshal(s, data, &back); err != nil {
		t.Fatalf("decode %s: %v", s.FullName(), err)
	}
	for name, v := range value {
		if !SameDecoded(v, back[name]) {
			t.Errorf("round trip of %s field %s: encoded %s, decoded %s", s.FullName(), name, Show(v), Show(back[name]))
		}
	}
}

// SameDecoded compares a value as given to hamba with the value hamba decodes
// from it: DATETIME micros come back as a time.Time in time.Local, int32 and
// int64 as int and int64, unions as their value.
func SameDecoded(in, out any) bool {
	if m, ok := in.(map[string]any); ok && len(m) == 1 {
		for _, v := range m {
			in = v
		}
	}
	if m, ok := out.(map[string]any); ok && len(m) == 1 {
		if _, isRecord := in.(map[string]any); !isRecord {
			for _, v := range m {
				out = v
			}
		}
	}
	switch x := in.(type) {
	case int32:
		switch y := out.(type) {
		case int:
			return int(x) == y
		case int32:
			return x == y
		}
		return false
	case int64:
		switch y := out.(type) {
		case int64:
			return x == y
		case time.Time:
			// local-timestamp-micros: hamba gives the wall clock in time.Local.
			_, offset := y.Zone()
			return x == y.UnixMicro()+int64(offset)*1_000_000 || (x == schema.ZeroDateTime && schema.IsZeroDate(y))
		}
		return false
	case time.Time:
		y, ok := out.(time.Time)
		return ok && x.Equal(y)
	}
	return SameValue(in, out)
}

// EveryType lists one canonical type string per kind (and variants).
var EveryType = []string{
	"tinyint", "tinyint unsigned", "smallint", "smallint unsigned", "mediumint", "mediumint unsigned",
	"int", "int unsigned", "bigint", "bigint unsigned",
	"decimal(10,2)", "decimal(65,30)", "decimal(20,0)", "decimal(1,1)",
	"float", "double", "bit(1)", "bit(5)", "bit(64)",
	"char(0)", "char(3)", "char(255)", "varchar(20)", "varchar(16383)",
	"tinytext", "text", "mediumtext", "longtext",
	"binary(4)", "varbinary(10)", "tinyblob", "blob", "mediumblob", "longblob",
	"enum('a','b')", `enum('','b''c','d\\e','\0\n\r','é')`, "set('x','y','z')",
	"json", "date", "time", "time(3)", "time(6)", "datetime", "datetime(6)", "timestamp", "timestamp(3)", "year",
	"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection",
	"uuid", "inet4", "inet6",
}

// Micros returns the DATETIME value (wall-clock microseconds read as UTC) of
// the given date and time.
func Micros(y int, mo time.Month, d, h, mi, s, us int) int64 {
	return time.Date(y, mo, d, h, mi, s, us*1000, time.UTC).UnixMicro()
}

// DTU is a nullable DATETIME value: the union map hamba/avro needs.
func DTU(v int64) any { return map[string]any{"long.local-timestamp-micros": v} }

// Rat returns the *big.Rat of a decimal text; it panics on a bad text.
func Rat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(s)
	}
	return r
}

// Date returns the DATE value of y-m-d: UTC midnight.
func Date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// PointWKB returns the WKB of POINT(x y), as GEOMETRY values carry it.
func PointWKB(x, y float64) []byte {
	b := []byte{1, 1, 0, 0, 0}
	for _, f := range []float64{x, y} {
		u := math.Float64bits(f)
		for i := range 8 {
			b = append(b, byte(u>>(8*i)))
		}
	}
	return b
}
