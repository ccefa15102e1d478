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

// TestMariaDBTypesRoundTrip does what TestAllTypesRoundTrip does for the
// mariadb_types fixture (UUID, INET4, INET6 and every spatial type): the
// binlog, which shows UUID and INET columns as BINARY, must give the
// snapshot's types and values. Updates and deletes of those columns are
// published with their before images too.
func TestMariaDBTypesRoundTrip(t *testing.T) {
	p := newPipeline(t)
	db := p.src.DB(t, p.db)
	exec := func(q string) {
		t.Helper()
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(testenv.MariaDBTypesDDL)
	for _, q := range testenv.MariaDBTypesRows {
		exec(q)
	}
	stop := p.start()
	topic := p.prefix + "." + p.db + ".mariadb_types"
	n := len(testenv.MariaDBTypesRows)
	waitFor(t, 30*time.Second, "snapshot of mariadb_types", func() bool { return len(p.readAll(topic)) >= n })
	for _, q := range testenv.MariaDBTypesRows {
		exec(shiftID(q, 100))
	}
	exec("UPDATE mariadb_types SET u = '00000000-0000-0000-0000-000000000001', i4 = '255.255.255.255', i6 = '::ffff:0.0.0.0'," +
		" pt = ST_GeomFromText('POINT(3 4)'), mpg = ST_GeomFromText('MULTIPOLYGON(((1 1,2 1,2 2,1 1)))') WHERE id = 102")
	exec("DELETE FROM mariadb_types WHERE id = 103")
	// The delete is followed by a tombstone.
	waitFor(t, 30*time.Second, "binlog rows of mariadb_types", func() bool { return len(p.readAll(topic)) >= 2*n+3 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	byID := map[int64]map[string]any{}
	var update, del *event
	for _, ev := range p.readAll(topic) {
		switch {
		case ev.Tomb:
			continue
		case ev.Op == "u":
			update = &ev
			continue
		case ev.Op == "d":
			del = &ev
			continue
		}
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
			if col != "id" && !reflect.DeepEqual(norm(sv), norm(bin[col])) {
				t.Errorf("row %d column %s: snapshot gives %s, binlog gives %s", id, col, show(sv), show(bin[col]))
			}
		}
	}
	checks := []struct {
		id        int64
		col, want string
	}{
		{1, "u", "00000000-0000-0000-0000-000000000000"},
		{1, "unn", "ffffffff-ffff-ffff-ffff-ffffffffffff"},
		{1, "i4", "0.0.0.0"},
		{1, "i6", "::"},
		{2, "u", "6ccd780c-baba-1026-9564-5b8c656024db"},
		{2, "unn", "123e4567-e89b-42d3-a456-426614174000"},
		{2, "i4", "255.255.255.255"},
		{2, "i6", "::1"},
		{3, "u", "e7d4a3f0-3c5a-11ef-8d2b-0242ac120002"},
		{3, "i6", "::ffff:1.2.3.4"},
		{4, "i6", "2001:db8:85a3::8a2e:370:7334"},
		{9, "unn", "00000000-0000-0000-0000-000000000000"},
	}
	for _, c := range checks {
		for _, id := range []int64{c.id, c.id + 100} {
			if got := norm(byID[id][c.col]); got != c.want {
				t.Errorf("row %d column %s: got %s, want %q", id, c.col, show(got), c.want)
			}
		}
	}
	if v := byID[109]["u"]; v != nil {
		t.Errorf("row 109 u: NULL arrived as %s", show(v))
	}
	if b, ok := norm(byID[102]["b16"]).([]byte); !ok || len(b) != 16 {
		t.Errorf("row 102 b16 (BINARY(16) of zeros): %s, want 16 bytes", show(byID[102]["b16"]))
	}
	if update == nil || del == nil {
		t.Fatalf("update %v, delete %v: want both", update != nil, del != nil)
	}
	if got := norm(update.Before["u"]); got != "6ccd780c-baba-1026-9564-5b8c656024db" {
		t.Errorf("update before u: %s", show(got))
	}
	for col, want := range map[string]string{"u": "00000000-0000-0000-0000-000000000001", "i4": "255.255.255.255", "i6": "::ffff:0.0.0.0"} {
		if got := norm(update.After[col]); got != want {
			t.Errorf("update after %s: %s, want %q", col, show(got), want)
		}
	}
	if got := norm(del.Before["u"]); got != "e7d4a3f0-3c5a-11ef-8d2b-0242ac120002" {
		t.Errorf("delete before u: %s", show(got))
	}
}

// TestMidStreamUUIDTable creates a table with UUID, INET4 and INET6
// columns in a captured database while capture streams: it is captured
// from its first row, capture does not stop, and its rows carry the
// server's text.
func TestMidStreamUUIDTable(t *testing.T) {
	p := newPipeline(t)
	db := p.src.DB(t, p.db)
	p.src.Exec(t, "CREATE TABLE `"+p.db+"`.seed (id INT PRIMARY KEY)")
	p.src.Exec(t, "INSERT INTO `"+p.db+"`.seed VALUES (1)")
	stop := p.start()
	seed := p.prefix + "." + p.db + ".seed"
	waitFor(t, 30*time.Second, "snapshot of seed", func() bool { return len(p.readAll(seed)) >= 1 })
	for _, q := range []string{
		"CREATE TABLE mid (id INT PRIMARY KEY, u UUID NOT NULL, i4 INET4, i6 INET6)",
		"INSERT INTO mid VALUES (1, '6ccd780c-baba-1026-9564-5b8c656024db', '1.2.3.4', '1::2:3:4:5:6:7')",
		"INSERT INTO mid VALUES (2, 'E7D4A3F0-3C5A-11EF-8D2B-0242AC120002', NULL, '::ffff:1.2.3.4')",
		"UPDATE mid SET u = '00000000-0000-0000-0000-000000000000' WHERE id = 2",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	topic := p.prefix + "." + p.db + ".mid"
	waitFor(t, 30*time.Second, "rows of mid", func() bool { return len(p.readAll(topic)) >= 3 })
	if err := stop(); err != nil {
		t.Fatalf("capture stopped: %v", err)
	}
	evs := p.readAll(topic)
	want := []struct{ op, u, i6 string }{
		{"c", "6ccd780c-baba-1026-9564-5b8c656024db", "1::2:3:4:5:6:7"},
		{"c", "e7d4a3f0-3c5a-11ef-8d2b-0242ac120002", "::ffff:1.2.3.4"},
		{"u", "00000000-0000-0000-0000-000000000000", "::ffff:1.2.3.4"},
	}
	for i, w := range want {
		ev := evs[i]
		if ev.Op != w.op || norm(ev.After["u"]) != w.u || norm(ev.After["i6"]) != w.i6 {
			t.Errorf("event %d: %s u=%s i6=%s, want %s u=%s i6=%s", i, ev.Op, show(ev.After["u"]), show(ev.After["i6"]), w.op, w.u, w.i6)
		}
	}
	if got := norm(evs[0].After["i4"]); got != "1.2.3.4" {
		t.Errorf("i4: %s", show(got))
	}
	var created bool
	for _, sc := range p.readSchemaChanges() {
		if sc["kind"] == "create_table" && sc["table"] != nil && strings.Contains(fmt.Sprint(sc["table"]), "mid") {
			created = strings.Contains(fmt.Sprint(sc["columns"]), `"type":"uuid"`)
		}
	}
	if !created {
		t.Errorf("no create_table schema change for mid listing a uuid column: %v", p.readSchemaChanges())
	}
}
