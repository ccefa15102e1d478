package schema

import (
	"bytes"
	"fmt"
	"math/big"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
)

// sameValue compares two converted values: *big.Rat by value, time.Time by
// instant (and location name), []byte by content, maps recursively, the rest
// by type and ==.
func sameValue(a, b any) bool {
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
			if !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	}
	return reflect.TypeOf(a) == reflect.TypeOf(b) && a == b
}

func show(v any) string {
	switch x := v.(type) {
	case *big.Rat:
		return "rat(" + x.RatString() + ")"
	case time.Time:
		return x.Format(time.RFC3339Nano) + " " + x.Location().String()
	case nil:
		return "nil"
	}
	return fmt.Sprintf("%T(%#v)", v, v)
}

// diffRows reports every field where got and want differ.
func diffRows(t *testing.T, what string, got, want map[string]any) {
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
		if gok != wok || !sameValue(g, w) {
			t.Errorf("%s field %s: got %s, want %s", what, k, show(g), show(w))
		}
	}
}

// diffTables reports the differences between two tables.
func diffTables(t *testing.T, what string, got, want Table) {
	t.Helper()
	if got.Equal(want) {
		return
	}
	if got.Database != want.Database || got.Name != want.Name {
		t.Errorf("%s: table %s.%s, want %s.%s", what, got.Database, got.Name, want.Database, want.Name)
	}
	if !equalStrings(got.Key, want.Key) {
		t.Errorf("%s: key %v, want %v", what, got.Key, want.Key)
	}
	n := max(len(got.Columns), len(want.Columns))
	for i := range n {
		var g, w Column
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

func equalStrings(a, b []string) bool {
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

func columnNames(t Table) []string {
	var out []string
	for _, c := range t.Columns {
		out = append(out, c.Name)
	}
	return out
}

// roundTrip encodes value with s, decodes it, and checks that the decoded
// record holds the same values (in hamba's decoded forms).
func roundTrip(t *testing.T, s *avro.RecordSchema, value map[string]any) {
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
		if !sameDecoded(v, back[name]) {
			t.Errorf("round trip of %s field %s: encoded %s, decoded %s", s.FullName(), name, show(v), show(back[name]))
		}
	}
}

// sameDecoded compares a value as given to hamba with the value hamba decodes
// from it: DATETIME micros come back as a time.Time in time.Local, int32 and
// int64 as int and int64, unions as their value.
func sameDecoded(in, out any) bool {
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
			return x == wallMicros(y) || (x == ZeroDateTime && IsZeroDate(y))
		}
		return false
	case time.Time:
		y, ok := out.(time.Time)
		return ok && x.Equal(y)
	}
	return sameValue(in, out)
}
