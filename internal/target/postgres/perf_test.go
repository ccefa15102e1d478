package postgres_test

import (
	"context"
	"fmt"
	"math/big"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/internal/target/postgres"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/testenv"
)

// perfTable is the ten-column table of syncline bench (bench/data.go).
func perfTable(t *testing.T, name string) schema.Table {
	tab := schema.Table{Database: "perf", Name: name, Key: []string{"id"}}
	for _, c := range []struct{ name, typ string }{
		{"id", "bigint"}, {"account", "int"}, {"qty", "int"}, {"amount", "decimal(12,2)"}, {"score", "double"},
		{"name", "varchar(64)"}, {"note", "varchar(255)"}, {"status", "tinyint"}, {"created", "datetime(6)"}, {"day", "date"},
	} {
		tab.Columns = append(tab.Columns, schema.Column{Name: c.name, Type: mustType(t, c.typ), Nullable: c.name == "note"})
	}
	return tab
}

// perfRow is the row of id as the bench generates it, in apply.Change's Go
// types.
func perfRow(id int64, updated bool) map[string]any {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	qty, status := int32(id%1000), int32(id%5)
	var note any
	if id%10 != 0 {
		n := strings.Repeat("n", 40+int(id%60))
		if updated {
			n = strings.Repeat("u", len(n))
		}
		note = n
	}
	if updated {
		qty++
		status = (status + 1) % 5
	}
	return map[string]any{
		"id": id, "account": int32(id % 100000), "qty": qty, "amount": big.NewRat(id%100000, 100),
		"score": float64(id) * 0.5, "name": "name-" + strconv.FormatInt(id, 10), "note": note, "status": status,
		"created": base.Add(time.Duration(id)*time.Second + time.Duration(id%1_000_000)*time.Microsecond),
		"day":     base.AddDate(0, 0, int(id%1000)),
	}
}

func copyValues(r map[string]any) []any {
	a := r["amount"].(*big.Rat)
	n := new(big.Int).Mul(a.Num(), big.NewInt(100))
	n.Quo(n, a.Denom())
	return []any{r["id"], r["account"], r["qty"], pgtype.Numeric{Int: n, Exp: -2, Valid: true}, r["score"], r["name"], r["note"],
		int16(r["status"].(int32)), r["created"], r["day"]}
}

// TestWritePerf compares Write with a plain COPY (pgx CopyFrom) of the same
// rows, the sink alone, as syncline bench's apply benchmark does the whole
// apply. It runs only with SYNCLINE_PG_PERF set to the number of change
// events (batches of 10,000), against SYNCLINE_PG_URL or testenv's server:
//
//	SYNCLINE_PG_PERF=200000 SYNCLINE_PG_PERF_ROUNDS=5 go test ./internal/target/postgres/ -run WritePerf -v
//
// SYNCLINE_PG_PERF_ROUNDS repeats the pair (the median ratio is logged);
// SYNCLINE_PG_PERF_ALL adds updates, deletes and small batches;
// SYNCLINE_PG_PERF_SMALL compares COPY and arrays for small batches.
func TestWritePerf(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SYNCLINE_PG_PERF"))
	if n == 0 {
		t.Skip("set SYNCLINE_PG_PERF to the number of change events")
	}
	const batch = 10000
	url := os.Getenv("SYNCLINE_PG_URL")
	var conn *pgx.Conn
	if url == "" {
		pg := testenv.Postgres(t)
		db := pg.NewDatabase(t)
		url = pg.URL(db)
		conn = pg.Conn(t, db)
	} else {
		var err error
		if conn, err = pgx.Connect(context.Background(), url); err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
	}
	ctx := context.Background()
	s := newSink(t, url)
	defer s.Close()
	for _, q := range []string{"DROP SCHEMA IF EXISTS perf CASCADE", "DROP SCHEMA IF EXISTS perf_base CASCADE", "CREATE SCHEMA perf_base"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	// The bench's events: per 10 changes 4 inserts of new rows, 4 updates
	// (of rows the target lacks) and 2 deletes (of rows it lacks).
	var changes []apply.Change
	for i := range int64(n) {
		id := i + 1
		switch i % 10 {
		case 8, 9:
			changes = append(changes, apply.Change{Op: apply.Delete, Row: perfRow(id+10_000_000, false), Version: i + 1})
		default:
			changes = append(changes, apply.Change{Op: apply.Upsert, Row: perfRow(id, i%10 >= 4), Version: i + 1})
		}
	}
	base := func() time.Duration {
		name := "rows" + strconv.FormatInt(time.Now().UnixNano(), 36)
		if _, err := conn.Exec(ctx, "CREATE TABLE perf_base."+name+" (id bigint NOT NULL PRIMARY KEY, account integer NOT NULL, qty integer NOT NULL, "+
			"amount numeric(12,2) NOT NULL, score double precision NOT NULL, name varchar(64) NOT NULL, "+
			"note varchar(255), status smallint NOT NULL, created timestamp(6) NOT NULL, day date NOT NULL)"); err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		for i := 0; i < len(changes); i += batch {
			var rows [][]any
			for _, ch := range changes[i:min(i+batch, len(changes))] {
				r := ch.Row
				if ch.Op == apply.Delete {
					r = perfRow(r["id"].(int64)-10_000_000+20_000_000, false)
				}
				rows = append(rows, copyValues(r))
			}
			if _, err := conn.CopyFrom(ctx, pgx.Identifier{"perf_base", name}, []string{"id", "account", "qty", "amount", "score", "name", "note", "status", "created", "day"}, pgx.CopyFromRows(rows)); err != nil {
				t.Fatal(err)
			}
		}
		return time.Since(began)
	}
	write := func(tab schema.Table, changes []apply.Change, size int) time.Duration {
		began := time.Now()
		for i := 0; i < len(changes); i += size {
			if err := s.Write(ctx, tab, changes[i:min(i+size, len(changes))]); err != nil {
				t.Fatal(err)
			}
		}
		return time.Since(began)
	}
	rate := func(d time.Duration, k int) string { return fmt.Sprintf("%.0f rows/s", float64(k)/d.Seconds()) }
	rounds, _ := strconv.Atoi(os.Getenv("SYNCLINE_PG_PERF_ROUNDS"))
	var ratios []float64
	for round := range max(rounds, 1) {
		tab := perfTable(t, "changes"+strconv.Itoa(round))
		if err := s.Prepare(ctx, tab, apply.PrepareOptions{}); err != nil {
			t.Fatal(err)
		}
		b := base()
		w := write(tab, changes, batch)
		ratios = append(ratios, b.Seconds()/w.Seconds())
		t.Logf("round %d: bench events: COPY %s, Write %s: ratio %.2f", round+1, rate(b, n), rate(w, n), b.Seconds()/w.Seconds())
		if os.Getenv("SYNCLINE_PG_PERF_ALL") == "" {
			continue
		}

		// Updates of every row (now newer), then deletes of every row.
		var ups, dels []apply.Change
		for _, ch := range changes {
			if ch.Op == apply.Upsert {
				r := perfRow(ch.Row["id"].(int64), true)
				ups = append(ups, apply.Change{Op: apply.Upsert, Row: r, Version: ch.Version + int64(n)})
				dels = append(dels, apply.Change{Op: apply.Delete, Row: r, Version: ch.Version + 2*int64(n)})
			}
		}
		w = write(tab, ups, batch)
		t.Logf("round %d: updates of present rows: Write %s", round+1, rate(w, len(ups)))
		for i := range ups {
			ups[i].Version += int64(n)
		}
		restore := postgres.SetCopyMinRows(1 << 30)
		w = write(tab, ups, batch)
		restore()
		t.Logf("round %d: updates of present rows without COPY: Write %s", round+1, rate(w, len(ups)))
		w = write(tab, dels, batch)
		t.Logf("round %d: deletes of present rows: Write %s", round+1, rate(w, len(dels)))
		// Small batches of new rows.
		for _, size := range []int{1, 10, 100, 255, 256, 1000} {
			k := min(len(changes), 200*size)
			var fresh []apply.Change
			for _, ch := range changes[:k] {
				r := perfRow(ch.Row["id"].(int64)+int64(size)*100_000_000, false)
				fresh = append(fresh, apply.Change{Op: ch.Op, Row: r, Version: ch.Version})
			}
			w = write(tab, fresh, size)
			t.Logf("round %d: batches of %d: %s a batch, %s", round+1, size, (w / time.Duration(k/size)).Round(time.Microsecond), rate(w, k))
		}
	}
	if os.Getenv("SYNCLINE_PG_PERF_SMALL") != "" {
		tab := perfTable(t, "small")
		if err := s.Prepare(ctx, tab, apply.PrepareOptions{}); err != nil {
			t.Fatal(err)
		}
		id := int64(1_000_000_000)
		for _, size := range []int{8, 16, 32, 64, 128, 256} {
			for _, threshold := range []int{1, 1 << 30} {
				restore := postgres.SetCopyMinRows(threshold)
				const batches = 100
				var ins, ups time.Duration
				for range batches {
					var fresh, again []apply.Change
					for range size {
						id++
						fresh = append(fresh, apply.Change{Op: apply.Upsert, Row: perfRow(id, false), Version: 1})
						again = append(again, apply.Change{Op: apply.Upsert, Row: perfRow(id, true), Version: 2})
					}
					ins += write(tab, fresh, size)
					ups += write(tab, again, size)
				}
				restore()
				path := "COPY"
				if threshold > size {
					path = "arrays"
				}
				t.Logf("batches of %d, %s: inserts %s a batch, updates %s a batch", size, path, (ins / batches).Round(time.Microsecond), (ups / batches).Round(time.Microsecond))
			}
		}
	}
	sort.Float64s(ratios)
	t.Logf("median ratio %.2f of %v", ratios[len(ratios)/2], ratios)
}
