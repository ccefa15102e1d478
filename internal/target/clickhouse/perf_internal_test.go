package clickhouse

import (
	"context"
	"log/slog"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/testenv"
)

// perfBatch is the size of the benchmarks' batches: apply's default
// (apply.DefaultBatchRows).
const perfBatch = apply.DefaultBatchRows

// perfTable is the ten-column table of syncline bench (bench/data.go).
func perfTable(tb testing.TB, db string) schema.Table {
	tab := schema.Table{Database: db, Name: "changes", Key: []string{"id"}}
	for _, c := range []struct{ name, typ string }{
		{"id", "bigint"}, {"account", "int"}, {"qty", "int"}, {"amount", "decimal(12,2)"}, {"score", "double"},
		{"name", "varchar(64)"}, {"note", "varchar(255)"}, {"status", "tinyint"}, {"created", "datetime(6)"}, {"day", "date"},
	} {
		typ, err := schema.ParseType(c.typ)
		if err != nil {
			tb.Fatal(err)
		}
		tab.Columns = append(tab.Columns, schema.Column{Name: c.name, Type: typ, Nullable: c.name == "note"})
	}
	return tab
}

// perfRow is the row of id as the bench generates it, in apply.Change's Go
// types.
func perfRow(id int64) map[string]any {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var note any
	if id%10 != 0 {
		note = strings.Repeat("n", 40+int(id%60))
	}
	return map[string]any{
		"id": id, "account": int32(id % 100000), "qty": int32(id % 1000), "amount": big.NewRat(id%100000, 100),
		"score": float64(id) * 0.5, "name": "name-" + strconv.FormatInt(id, 10), "note": note, "status": int32(id % 5),
		"created": base.Add(time.Duration(id)*time.Second + time.Duration(id%1_000_000)*time.Microsecond),
		"day":     base.AddDate(0, 0, int(id%1000)),
	}
}

// perfSink returns a sink on testenv's server, and the bench's table,
// prepared.
func perfSink(b *testing.B) (*Sink, schema.Table) {
	ch := testenv.ClickHouse(b)
	db := ch.NewDatabase(b)
	ep, err := endpoint.Parse(ch.URL(""))
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(ep, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	tab := perfTable(b, db)
	if err := s.Prepare(context.Background(), tab, apply.PrepareOptions{}); err != nil {
		b.Fatal(err)
	}
	return s, tab
}

// perfChanges is one batch of the bench's mix: per 10 changes 8 upserts
// and 2 deletes.
func perfChanges() []apply.Change {
	changes := make([]apply.Change, perfBatch)
	for i := range changes {
		id := int64(i + 1)
		op := apply.Upsert
		if i%10 >= 8 {
			op = apply.Delete
		}
		changes[i] = apply.Change{Op: op, Row: perfRow(id), Version: id}
	}
	return changes
}

// BenchmarkWrite writes one batch of the bench's rows per iteration, the
// sink alone (no Kafka), on testenv's server. Compare with
// BenchmarkInsertBaseline:
//
//	go test ./apply/clickhouse/ -run '^$' -bench . -benchmem -count 5
func BenchmarkWrite(b *testing.B) {
	s, tab := perfSink(b)
	ctx := context.Background()
	changes := perfChanges()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := s.Write(ctx, tab, changes); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(changes))/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkInsertBaseline inserts the rows of BenchmarkWrite as syncline
// bench's baseline does: one clickhouse-go batch, values appended row by
// row in the Go types of the columns apply creates on the server (decimals
// as text), into a copy of the sink's table.
func BenchmarkInsertBaseline(b *testing.B) {
	s, tab := perfSink(b)
	db := tab.Database
	ctx := context.Background()
	conn, _, err := s.open(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var dayType string
	if err := conn.QueryRow(ctx, "SELECT type FROM system.columns WHERE database = ? AND table = 'changes' AND name = 'day'", db).Scan(&dayType); err != nil {
		b.Fatal(err)
	}
	native := dayType == "Date32"
	if err := conn.Exec(ctx, "CREATE TABLE "+quote(db)+".rows AS "+quote(db)+".changes"); err != nil {
		b.Fatal(err)
	}
	changes := perfChanges()
	insert := "INSERT INTO " + quote(db) + ".rows (id, account, qty, amount, score, name, note, status, created, day, _syncline_version, _syncline_is_deleted)"
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		batch, err := conn.PrepareBatch(ctx, insert)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range changes {
			r := c.Row
			a := r["amount"].(*big.Rat)
			cents := a.Num().Int64() * 100 / a.Denom().Int64()
			amount := strconv.FormatInt(cents/100, 10) + "." + strconv.FormatInt(cents%100/10, 10) + strconv.FormatInt(cents%10, 10)
			created, day := r["created"].(time.Time), r["day"].(time.Time)
			var createdV, dayV any = created, day
			if !native {
				createdV, dayV = created.UnixMicro(), int32(day.Unix()/86400)
			}
			deleted := uint8(0)
			if c.Op == apply.Delete {
				deleted = 1
			}
			if err := batch.Append(r["id"], r["account"], r["qty"], amount, r["score"], r["name"], r["note"],
				int8(r["status"].(int32)), createdV, dayV, uint64(c.Version), deleted); err != nil {
				b.Fatal(err)
			}
		}
		if err := batch.Send(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(changes))/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkAppendBatch is Write's own work on a batch of BenchmarkWrite:
// converting the values and appending them to the driver's block, which
// is then not sent.
func BenchmarkAppendBatch(b *testing.B) {
	s, tab := perfSink(b)
	ctx := context.Background()
	changes := perfChanges()
	conn, _, err := s.open(ctx)
	if err != nil {
		b.Fatal(err)
	}
	w := &tableWrite{s: s, t: tab, name: tab.Name, keyIdx: []int{0}, isKey: make([]bool, len(tab.Columns))}
	w.isKey[0] = true
	if err := w.readMeta(ctx, conn); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		batch, err := conn.PrepareBatch(ctx, insertSQL(tab))
		if err != nil {
			b.Fatal(err)
		}
		header := batch.Columns()
		cols := make([]colValues, len(tab.Columns))
		for j, col := range tab.Columns {
			cols[j] = newValues(col.Type, w.types[j], header[j].ScanType(), len(changes))
		}
		if _, err := w.fill(cols, changes); err != nil {
			b.Fatal(err)
		}
		if err := w.appendTo(batch, cols, changes); err != nil {
			b.Fatal(err)
		}
		_ = batch.Abort()
		_ = batch.Close()
	}
}
