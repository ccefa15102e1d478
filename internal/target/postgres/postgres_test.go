package postgres_test

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/apply/sinktest"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/target/postgres"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

func newSink(t *testing.T, url string) *postgres.Sink {
	t.Helper()
	ep, err := endpoint.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	s, err := postgres.New(ep, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func quote(s string) string { return pgx.Identifier{s}.Sanitize() }

func newTarget(t *testing.T) sinktest.Target {
	pg := testenv.Postgres(t)
	db := pg.NewDatabase(t)
	conn := pg.Conn(t, db)
	return sinktest.Target{
		Sink:     newSink(t, pg.URL(db)),
		Database: "shop",
		Rows: func(t *testing.T, schemaName, table string, cols ...string) [][]*string {
			t.Helper()
			exprs := make([]string, len(cols))
			for i, c := range cols {
				exprs[i] = quote(c) + "::text"
			}
			return query(t, conn, "SELECT "+strings.Join(exprs, ", ")+" FROM "+quote(schemaName)+"."+quote(table)+" AS src ORDER BY src."+quote(cols[0]))
		},
		CreateUserTable: func(t *testing.T, schemaName, table string) {
			q := quote(schemaName) + "." + quote(table)
			for _, stmt := range []string{"CREATE SCHEMA IF NOT EXISTS " + quote(schemaName), "CREATE TABLE " + q + " (id int PRIMARY KEY, v varchar(20))", "INSERT INTO " + q + " VALUES (1, 'user')"} {
				if _, err := conn.Exec(context.Background(), stmt); err != nil {
					t.Fatal(err)
				}
			}
		},
		Columns: func(t *testing.T, schemaName, table string) []string {
			rows := query(t, conn, "SELECT column_name::text FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position", schemaName, table)
			out := make([]string, len(rows))
			for i, r := range rows {
				out[i] = *r[0]
			}
			return out
		},
	}
}

func query(t *testing.T, conn *pgx.Conn, q string, args ...any) [][]*string {
	t.Helper()
	rows, err := conn.Query(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]*string, error) {
		vals := make([]*string, len(r.FieldDescriptions()))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		return vals, r.Scan(ptrs...)
	})
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

func TestContract(t *testing.T) { sinktest.Run(t, newTarget) }

// TestContractCopy runs the contract with every batch holding upserts
// written with COPY, and TestContractArrays with none.
func TestContractCopy(t *testing.T) {
	defer postgres.SetCopyMinRows(1)()
	sinktest.Run(t, newTarget)
}

func TestContractArrays(t *testing.T) {
	defer postgres.SetCopyMinRows(math.MaxInt)()
	sinktest.Run(t, newTarget)
}

func mustType(t *testing.T, s string) schema.Type {
	t.Helper()
	typ, err := schema.ParseType(s)
	if err != nil {
		t.Fatal(err)
	}
	return typ
}

func mustRat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(s)
	}
	return r
}

// TestAllTypes writes one value of every type, with the extremes and the
// zero dates, and reads the table's types and values back.
func TestAllTypes(t *testing.T) {
	pg := testenv.Postgres(t)
	db := pg.NewDatabase(t)
	s := newSink(t, pg.URL(db))
	defer s.Close()
	cols := []struct {
		name, typ string
		value     any
		pgType    string
		want      string
	}{
		{"id", "int", int32(1), "integer", "1"},
		{"ti", "tinyint", int32(-128), "smallint", "-128"},
		{"tiu", "tinyint unsigned", int32(255), "smallint", "255"},
		{"si", "smallint unsigned", int32(65535), "integer", "65535"},
		{"mi", "mediumint unsigned", int32(16777215), "integer", "16777215"},
		{"iu", "int unsigned", int64(4294967295), "bigint", "4294967295"},
		{"bi", "bigint", int64(math.MinInt64), "bigint", "-9223372036854775808"},
		{"biu", "bigint unsigned", new(big.Rat).SetUint64(math.MaxUint64), "numeric(20,0)", "18446744073709551615"},
		{"de", "decimal(30,10)", mustRat("-12345678901234567890.0123456789"), "numeric(30,10)", "-12345678901234567890.0123456789"},
		{"fl", "float", float32(3.4028235e38), "real", "3.4028235e+38"},
		{"do", "double", 0.1, "double precision", "0.1"},
		{"bt", "bit(10)", []byte{0x02, 0x05}, "bit(10)", "1000000101"},
		{"ch", "char(5)", "ab", "character varying(5)", "ab"},
		{"vc", "varchar(20)", "héllo 😀", "character varying(20)", "héllo 😀"},
		{"tx", "longtext", "text", "text", "text"},
		{"bn", "binary(4)", []byte{0, 1, 0, 0}, "bytea", `\x00010000`},
		{"bl", "blob", []byte("blob"), "bytea", `\x626c6f62`},
		{"en", "enum('a','b c')", "b c", "text", "b c"},
		{"st", "set('x','y','z')", "x,z", "text", "x,z"},
		{"js", "json", `{"a": [1, 2]}`, "jsonb", `{"a": [1, 2]}`},
		{"da", "date", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), "date", "2024-02-29"},
		{"dz", "date", schema.ZeroDate(), "date", "-infinity"},
		{"dt", "datetime(6)", time.Date(1000, 1, 1, 23, 59, 59, 123456000, time.UTC), "timestamp(6) without time zone", "1000-01-01 23:59:59.123456"},
		{"dtz", "datetime", time.UnixMicro(math.MinInt64).UTC(), "timestamp(0) without time zone", "-infinity"},
		{"ts", "timestamp(3)", time.Date(2038, 1, 19, 3, 14, 7, 999000000, time.UTC), "timestamp(3) with time zone", "2038-01-19 03:14:07.999+00"},
		{"tsz", "timestamp", schema.ZeroTimestamp(), "timestamp(0) with time zone", "-infinity"},
		{"tm", "time(6)", int64(-(838*3600+59*60+58)*1e6 - 999999), "interval", "-838:59:58.999999"},
		{"tm2", "time", int64(100 * 3600 * 1e6), "interval", "100:00:00"},
		{"yr", "year", int32(2155), "smallint", "2155"},
		{"nul", "varchar(3)", nil, "character varying(3)", `\N`},
		{"pt", "point", []byte{1, 1, 0, 0, 0}, "bytea", `\x0101000000`},
	}
	tab := schema.Table{Database: "shop", Name: "types", Key: []string{"id"}}
	row := map[string]any{}
	var selects []string
	for _, c := range cols {
		tab.Columns = append(tab.Columns, schema.Column{Name: c.name, Type: mustType(t, c.typ), Nullable: c.name != "id"})
		row[c.name] = c.value
		selects = append(selects, quote(c.name)+"::text")
	}
	ctx := context.Background()
	if err := s.Prepare(ctx, tab, apply.PrepareOptions{}); err != nil {
		t.Fatal(err)
	}
	conn := pg.Conn(t, db)
	types := query(t, conn, `SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
		WHERE a.attrelid = 'shop.types'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`)
	for i, c := range cols {
		if *types[i][1] != c.pgType {
			t.Errorf("column %s (%s) has type %s, want %s", c.name, c.typ, *types[i][1], c.pgType)
		}
	}
	// The row alone (arrays), then in a batch written with COPY, then
	// with COPY into a table that holds it (arrays again, after the
	// look-up).
	for i, mode := range []string{"arrays", "COPY", "COPY over the row"} {
		if mode == "COPY" {
			if _, err := conn.Exec(ctx, "TRUNCATE shop.types"); err != nil {
				t.Fatal(err)
			}
		}
		batch := []apply.Change{{Op: apply.Upsert, Row: row, Version: int64(i + 1)}}
		for id := int32(2); mode != "arrays" && id < 300; id++ {
			batch = append(batch, apply.Change{Op: apply.Upsert, Row: map[string]any{"id": id, "vc": "filler"}, Version: 1})
		}
		if err := s.Write(ctx, tab, batch); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		got := query(t, conn, "SELECT "+strings.Join(selects, ", ")+" FROM shop.types WHERE id = 1")
		for i, c := range cols {
			v := `\N`
			if got[0][i] != nil {
				v = *got[0][i]
			}
			if v != c.want {
				t.Errorf("%s: column %s (%s): got %q, want %q", mode, c.name, c.typ, v, c.want)
			}
		}
	}
	// A string with NUL cannot be written: a final error, not a retry,
	// alone or in a batch for COPY.
	for _, n := range []int32{1, 300} {
		var batch []apply.Change
		for id := range n {
			batch = append(batch, apply.Change{Op: apply.Upsert, Row: map[string]any{"id": 1000 + id, "vc": "ok"}, Version: 1})
		}
		batch[n/2].Row["vc"] = "a\x00b"
		err := s.Write(ctx, tab, batch)
		if err == nil || apply.IsRetryable(err) || !strings.Contains(err.Error(), "NUL") {
			t.Fatalf("NUL in text, batch of %d: %v; want a final error", n, err)
		}
	}
	if got := query(t, conn, "SELECT count(*)::text FROM shop.types WHERE id >= 1000"); *got[0][0] != "0" {
		t.Fatalf("%s rows of the failed batches written", *got[0][0])
	}
}

// TestCopyBatches writes batches large enough for COPY that hold new
// rows, rows the table holds (newer and older ones, some lacking a column)
// and deletes, in the three ways writeCopy takes: COPY of every upsert
// first (the table's first batch), the same after it has failed on a held
// row, and the look-up first.
func TestCopyBatches(t *testing.T) {
	pg := testenv.Postgres(t)
	db := pg.NewDatabase(t)
	s := newSink(t, pg.URL(db))
	defer s.Close()
	conn := pg.Conn(t, db)
	ctx := context.Background()
	tab := schema.Table{Database: "shop", Name: "mix", Key: []string{"id"}, Columns: []schema.Column{
		{Name: "id", Type: mustType(t, "int")}, {Name: "v", Type: mustType(t, "varchar(20)"), Nullable: true},
		{Name: "n", Type: mustType(t, "int"), Nullable: true}}}
	if err := s.Prepare(ctx, tab, apply.PrepareOptions{}); err != nil {
		t.Fatal(err)
	}
	want := map[int32]string{}
	write := func(changes []apply.Change) {
		t.Helper()
		if err := s.Write(ctx, tab, changes); err != nil {
			t.Fatal(err)
		}
	}
	check := func(round int) {
		t.Helper()
		got := query(t, conn, `SELECT id::text, v, n::text, _syncline_version::text FROM shop.mix ORDER BY id`)
		if len(got) != len(want) {
			t.Fatalf("round %d: %d rows, want %d", round, len(got), len(want))
		}
		for _, r := range got {
			var b strings.Builder
			for i, v := range r {
				if i > 0 {
					b.WriteByte('|')
				}
				if v == nil {
					b.WriteString(`\N`)
				} else {
					b.WriteString(*v)
				}
			}
			id, _ := strconv.Atoi(*r[0])
			if b.String() != want[int32(id)] {
				t.Fatalf("round %d: row %s, want %s", round, b.String(), want[int32(id)])
			}
		}
	}
	row := func(id int32, v string, n any, version int64) apply.Change {
		r := map[string]any{"id": id, "v": v}
		if n != "absent" {
			r["n"] = n
		}
		return apply.Change{Op: apply.Upsert, Row: r, Version: version}
	}
	// Round 0: new rows, COPY first. Each later round: 100 older
	// updates (lose), 100 newer updates without n (win, n kept), 100 new
	// rows without n (n NULL), 50 deletes as new as the row (win), 50
	// older deletes (lose), and 100 new rows.
	var first []apply.Change
	for id := int32(0); id < 1000; id++ {
		first = append(first, row(id, "v0", id, 10))
		want[id] = fmt.Sprintf("%d|v0|%d|10", id, id)
	}
	write(first)
	check(0)
	next := int32(1000)
	for round := 1; round <= 3; round++ {
		base := int32(round-1) * 300
		var changes []apply.Change
		for id := base; id < base+100; id++ {
			changes = append(changes, row(id, "old", int32(-1), 5))
		}
		for id := base + 100; id < base+200; id++ {
			changes = append(changes, row(id, fmt.Sprint("new", round), "absent", 20+int64(round)))
			want[id] = fmt.Sprintf("%d|new%d|%d|%d", id, round, id, 20+round)
		}
		for id := base + 200; id < base+250; id++ {
			changes = append(changes, apply.Change{Op: apply.Delete, Row: map[string]any{"id": id}, Version: 10})
			delete(want, id)
		}
		for id := base + 250; id < base+300; id++ {
			changes = append(changes, apply.Change{Op: apply.Delete, Row: map[string]any{"id": id}, Version: 9})
		}
		for range 100 {
			changes = append(changes, row(next, "fresh", "absent", 7))
			want[next] = fmt.Sprintf("%d|fresh|\\N|7", next)
			next++
		}
		for range 100 {
			changes = append(changes, row(next, "fresh", next, 7))
			want[next] = fmt.Sprintf("%d|fresh|%d|7", next, next)
			next++
		}
		write(changes)
		check(round)
	}

	// Another session inserts keys of the batch between the look-up and
	// the COPY: the batch is written again with ON CONFLICT, an older
	// row losing to it and a newer one winning.
	restore := postgres.SetLookedUp(func() {
		for _, q := range []string{`INSERT INTO shop.mix VALUES (5000, 'theirs', 1, 5)`, `INSERT INTO shop.mix VALUES (5001, 'theirs', 1, 50)`} {
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Error(err)
			}
		}
	})
	var changes []apply.Change
	for id := int32(5000); id < 5300; id++ {
		changes = append(changes, row(id, "ours", id, 20))
		want[id] = fmt.Sprintf("%d|ours|%d|20", id, id)
	}
	want[5001] = "5001|theirs|1|50"
	write(changes)
	restore()
	check(4)
}

// TestCompositeKey writes upserts and deletes of a table keyed on two
// columns, in small batches (arrays) and large ones (COPY).
func TestCompositeKey(t *testing.T) {
	pg := testenv.Postgres(t)
	db := pg.NewDatabase(t)
	s := newSink(t, pg.URL(db))
	defer s.Close()
	conn := pg.Conn(t, db)
	ctx := context.Background()
	tab := schema.Table{Database: "shop", Name: "pairs", Key: []string{"a", "b"}, Columns: []schema.Column{
		{Name: "a", Type: mustType(t, "int")}, {Name: "b", Type: mustType(t, "varchar(10)")},
		{Name: "v", Type: mustType(t, "int"), Nullable: true}}}
	if err := s.Prepare(ctx, tab, apply.PrepareOptions{}); err != nil {
		t.Fatal(err)
	}
	up := func(a int32, b string, v int32, version int64) apply.Change {
		return apply.Change{Op: apply.Upsert, Row: map[string]any{"a": a, "b": b, "v": v}, Version: version}
	}
	del := func(a int32, b string, version int64) apply.Change {
		return apply.Change{Op: apply.Delete, Row: map[string]any{"a": a, "b": b, "v": int32(0)}, Version: version}
	}
	want := map[string]string{}
	for _, size := range []int{10, 400} {
		var first, second []apply.Change
		for i := range int32(size) {
			b := fmt.Sprint("k", size)
			first = append(first, up(i, b, i, 10), up(i, "x"+b, i, 10))
			switch i % 4 {
			case 0: // (i, b) newer: wins; (i, xb) as new delete: removed
				second = append(second, up(i, b, -i, 11), del(i, "x"+b, 10))
				want[fmt.Sprint(i, "|", b)] = fmt.Sprint(i, "|", b, "|", -i)
			case 1: // older update and older delete: lose
				second = append(second, up(i, b, -i, 9), del(i, "x"+b, 9))
				want[fmt.Sprint(i, "|", b)] = fmt.Sprint(i, "|", b, "|", i)
				want[fmt.Sprint(i, "|x", b)] = fmt.Sprint(i, "|x", b, "|", i)
			default: // a new key sharing a: inserted
				second = append(second, up(i, "y"+b, i, 11))
				want[fmt.Sprint(i, "|", b)] = fmt.Sprint(i, "|", b, "|", i)
				want[fmt.Sprint(i, "|x", b)] = fmt.Sprint(i, "|x", b, "|", i)
				want[fmt.Sprint(i, "|y", b)] = fmt.Sprint(i, "|y", b, "|", i)
			}
		}
		for _, batch := range [][]apply.Change{first, second} {
			if err := s.Write(ctx, tab, batch); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := query(t, conn, `SELECT a::text, b, v::text FROM shop.pairs`)
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for _, r := range got {
		if w := want[*r[0]+"|"+*r[1]]; w != *r[0]+"|"+*r[1]+"|"+*r[2] {
			t.Fatalf("row %s|%s|%s, want %s", *r[0], *r[1], *r[2], w)
		}
	}
}

// TestCopyTypesChanged changes column types behind the sink's back, after
// Prepare: a batch for COPY must not send the values in the binary form of
// the old types (an int's bytes read as a real), but let PostgreSQL
// convert them.
func TestCopyTypesChanged(t *testing.T) {
	pg := testenv.Postgres(t)
	db := pg.NewDatabase(t)
	s := newSink(t, pg.URL(db))
	defer s.Close()
	conn := pg.Conn(t, db)
	ctx := context.Background()
	tab := schema.Table{Database: "shop", Name: "altered", Key: []string{"id"}, Columns: []schema.Column{
		{Name: "id", Type: mustType(t, "int")}, {Name: "n", Type: mustType(t, "int"), Nullable: true},
		{Name: "d", Type: mustType(t, "date"), Nullable: true}}}
	if err := s.Prepare(ctx, tab, apply.PrepareOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`ALTER TABLE shop.altered ALTER COLUMN n TYPE real`, `ALTER TABLE shop.altered ALTER COLUMN d TYPE timestamp`} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	var batch []apply.Change
	for id := range int32(300) {
		batch = append(batch, apply.Change{Op: apply.Upsert, Row: map[string]any{"id": id, "n": id, "d": time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)}, Version: 1})
	}
	if err := s.Write(ctx, tab, batch); err != nil {
		t.Fatal(err)
	}
	got := query(t, conn, `SELECT n::text, d::text FROM shop.altered WHERE id = 7`)
	if *got[0][0] != "7" || *got[0][1] != "2024-01-02 00:00:00" {
		t.Fatalf("got n %s, d %s; want 7, 2024-01-02 00:00:00", *got[0][0], *got[0][1])
	}
}

// TestTargetDown checks that a stopped server gives retryable errors and
// that the sink recovers once it is back.
func TestTargetDown(t *testing.T) {
	pg := testenv.Postgres(t)
	db := pg.NewDatabase(t)
	s := newSink(t, pg.URL(db))
	defer s.Close()
	ctx := context.Background()
	tab := schema.Table{Database: "down", Name: "kv", Key: []string{"id"}, Columns: []schema.Column{{Name: "id", Type: mustType(t, "int")}}}
	if err := s.Prepare(ctx, tab, apply.PrepareOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	err := s.Write(ctx, tab, []apply.Change{{Op: apply.Upsert, Row: map[string]any{"id": int32(1)}, Version: 1}})
	startErr := pg.Start()
	if err == nil || !apply.IsRetryable(err) {
		t.Fatalf("write to a stopped server: %v; want a retryable error", err)
	}
	if startErr != nil {
		t.Fatal(startErr)
	}
	if err := s.Write(ctx, tab, []apply.Change{{Op: apply.Upsert, Row: map[string]any{"id": int32(1)}, Version: 1}}); err != nil {
		t.Fatalf("write after the restart: %v", err)
	}
}

// TestCreateSchemaRace prepares tables of one new schema from several
// sinks at once, as appliers and partitions do on a fresh target: the
// sessions that lose the race to create the schema succeed too, rather
// than failing (and being retried with a warning).
func TestCreateSchemaRace(t *testing.T) {
	pg := testenv.Postgres(t)
	db := pg.NewDatabase(t)
	const sinks = 6
	var all []*postgres.Sink
	for range sinks {
		s := newSink(t, pg.URL(db))
		defer s.Close()
		all = append(all, s)
	}
	ctx := context.Background()
	for round := range 5 {
		errs := make(chan error, sinks)
		for i, s := range all {
			go func() {
				tab := schema.Table{Database: fmt.Sprint("race", round), Name: fmt.Sprint("t", i), Key: []string{"id"},
					Columns: []schema.Column{{Name: "id", Type: mustType(t, "int")}}}
				errs <- s.Prepare(ctx, tab, apply.PrepareOptions{})
			}()
		}
		for range sinks {
			if err := <-errs; err != nil {
				t.Errorf("round %d: %v", round, err)
			}
		}
	}
}
