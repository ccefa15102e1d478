package capture_test

import (
	"context"
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/syncline/syncline/testenv"
)

// TestAllTypesRoundTrip writes every type twice, once before capture starts
// (read by the snapshot over the text protocol) and once after (read from
// the binlog), and checks that both decode from Kafka, with the registry's
// schema, to the same values, and that chosen values are exactly what was
// written.
func TestAllTypesRoundTrip(t *testing.T) {
	p := newPipeline(t)
	db := p.src.DB(t, p.db)
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("SET SESSION sql_mode = '', time_zone = '+05:00'")
	exec(testenv.AllTypesDDL)
	for _, q := range testenv.AllTypesRows {
		exec(q)
	}
	stop := p.start()
	topic := p.prefix + "." + p.db + ".all_types"
	n := len(testenv.AllTypesRows)
	waitFor(t, 30*time.Second, "snapshot of all_types", func() bool { return len(p.readAll(topic)) >= n })
	for _, q := range testenv.AllTypesRows {
		exec(shiftID(q, 100))
	}
	waitFor(t, 30*time.Second, "binlog rows of all_types", func() bool { return len(p.readAll(topic)) >= 2*n })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	byID := map[int64]map[string]any{}
	for _, ev := range p.readAll(topic) {
		id := toInt(ev.After["id"])
		if (id < 100) != (ev.Op == "r") {
			t.Fatalf("row %d arrived as %q", id, ev.Op)
		}
		byID[id] = ev.After
	}
	for id := int64(1); id <= int64(n); id++ {
		snap, bin := byID[id], byID[id+100]
		if snap == nil || bin == nil {
			t.Fatalf("row %d: snapshot %v, binlog %v", id, snap != nil, bin != nil)
		}
		for col, sv := range snap {
			if col == "id" {
				continue
			}
			if !reflect.DeepEqual(norm(sv), norm(bin[col])) {
				t.Errorf("row %d column %s: snapshot gives %s, binlog gives %s", id, col, show(sv), show(bin[col]))
			}
		}
	}
	r1, r2 := byID[1], byID[2]
	maxU64, _ := new(big.Rat).SetString("18446744073709551615")
	checks := []struct {
		row  map[string]any
		col  string
		want any
	}{
		{r1, "biu", maxU64},
		{r1, "tiu", int32(255)},
		{r1, "b64", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{r1, "bn", []byte{1, 2, 0, 0}},
		{r1, "vc", "😀 emoji"},
		{r1, "vcl", "café €"},
		{r1, "c", "ab"},
		{r1, "e", "b'c"},
		{r1, "s", "x,z"},
		{r1, "tm", int64(838*3600+59*60+59) * 1e6},
		{r1, "tm0", -int64(838*3600+59*60+59) * 1e6},
		{r1, "ts", time.Date(2024, 2, 29, 8, 14, 15, 123e6, time.UTC)}, // written at +05:00
		{r1, "dt", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{r1, "yr", int32(2024)},
		{r2, "dt", zeroDate},
		{r2, "bi", int64(-9223372036854775808)},
	}
	for _, c := range checks {
		if got := c.row[c.col]; !reflect.DeepEqual(norm(got), norm(c.want)) {
			t.Errorf("row %v column %s: got %s, want %s", c.row["id"], c.col, show(got), show(c.want))
		}
	}
	if v := byID[3]["biu"]; v != nil {
		t.Errorf("row 3 biu: NULL arrived as %s", show(v))
	}
}

// zeroDate is the documented DATE sentinel: math.MinInt32 days.
var zeroDate = time.Unix(0, 0).UTC().AddDate(0, 0, -2147483648)

// norm makes decoded values comparable: unions come wrapped by type name,
// times compare as instants, rationals by value.
func norm(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for _, inner := range x {
				return norm(inner)
			}
		}
	case time.Time:
		return x.UTC().UnixMicro()
	case *big.Rat:
		return x.RatString()
	case int:
		return int64(x)
	case int32:
		return int64(x)
	}
	return v
}

func show(v any) string { return fmt.Sprintf("%T(%v)", v, v) }

// shiftID rewrites an all_types INSERT to use id+shift.
func shiftID(q string, shift int) string {
	for id := 1; id <= 9; id++ {
		for _, pat := range []string{"VALUES (%d,", "VALUES (%d)"} {
			old := fmt.Sprintf(pat, id)
			if strings.Contains(q, old) {
				return strings.Replace(q, old, fmt.Sprintf(pat, id+shift), 1)
			}
		}
	}
	panic("no id in " + q)
}
