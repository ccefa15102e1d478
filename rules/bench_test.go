package rules

import (
	"math/big"
	"testing"
	"time"

	"github.com/syncline/syncline/schema"
)

// benchColumns is a typical 10-column table.
var benchColumns = []schema.Column{
	{Name: "id", Type: schema.Type{Kind: schema.BigInt}},
	{Name: "customer_id", Type: schema.Type{Kind: schema.Int}, Nullable: true},
	{Name: "status", Type: schema.Type{Kind: schema.VarChar, Length: 20, Charset: "utf8mb4"}, Nullable: true},
	{Name: "region", Type: schema.Type{Kind: schema.Char, Length: 2, Charset: "utf8mb4"}, Nullable: true},
	{Name: "total", Type: schema.Type{Kind: schema.Decimal, Precision: 10, Scale: 2}, Nullable: true},
	{Name: "discount", Type: schema.Type{Kind: schema.Double}, Nullable: true},
	{Name: "note", Type: schema.Type{Kind: schema.Text, Charset: "utf8mb4"}, Nullable: true},
	{Name: "created_at", Type: schema.Type{Kind: schema.DateTime, Precision: 3}, Nullable: true},
	{Name: "deleted_at", Type: schema.Type{Kind: schema.Timestamp}, Nullable: true},
	{Name: "flags", Type: schema.Type{Kind: schema.TinyInt}, Nullable: true},
}

func benchRow() []any {
	return []any{
		int64(1234567), int32(42), "shipped", "eu", big.NewRat(12999, 100), 0.15,
		"leave at the door", time.Date(2024, 2, 29, 10, 11, 12, 345e6, time.UTC), nil, int32(3),
	}
}

func BenchmarkMatch(b *testing.B) {
	for _, bc := range []struct{ name, filter string }{
		{"typical", "status <> 'test' AND total >= 10.5 AND region IN ('eu','us')"},
		{"dates", "created_at >= '2024-01-01' AND deleted_at IS NULL AND flags > 0"},
		{"like", "note LIKE '%door%' AND customer_id BETWEEN 10 AND 100"},
	} {
		e, err := ParseExpr(bc.filter)
		if err != nil {
			b.Fatal(err)
		}
		f, err := e.Bind(benchColumns)
		if err != nil {
			b.Fatal(err)
		}
		row := benchRow()
		if !f.Match(row) {
			b.Fatalf("%s does not match the benchmark row", bc.filter)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f.Match(row)
			}
		})
	}
}

func BenchmarkMatchMap(b *testing.B) {
	e, err := ParseExpr("status <> 'test' AND total >= 10.5 AND region IN ('eu','us')")
	if err != nil {
		b.Fatal(err)
	}
	f, err := e.Bind(benchColumns)
	if err != nil {
		b.Fatal(err)
	}
	row := map[string]any{}
	for i, v := range benchRow() {
		row[benchColumns[i].Name] = v
	}
	b.ReportAllocs()
	for b.Loop() {
		f.MatchMap(row)
	}
}

// TestMatchAllocs keeps the common filters free of allocations per row.
func TestMatchAllocs(t *testing.T) {
	row := benchRow()
	for _, src := range []string{
		"status <> 'test' AND total >= 10.5 AND region IN ('eu','us')",
		"created_at >= '2024-01-01' AND deleted_at IS NULL AND flags > 0",
		"customer_id BETWEEN 10 AND 100 OR note LIKE '%door%'",
		"total > 10 AND total < '200' AND discount < 0.5 AND id <> 7",
		"status = 'SHIPPED' COLLATE utf8mb4_general_ci AND NOT (region = 'us' OR region IS NULL)",
		"COALESCE(deleted_at, created_at) > '2000-01-01' AND LENGTH(note) > 3 AND YEAR(created_at) = 2024",
	} {
		e, err := ParseExpr(src)
		if err != nil {
			t.Fatal(err)
		}
		f, err := e.Bind(benchColumns)
		if err != nil {
			t.Fatal(err)
		}
		if !f.Match(row) {
			t.Errorf("%s does not match", src)
		}
		if n := testing.AllocsPerRun(100, func() { f.Match(row) }); n != 0 {
			t.Errorf("%s: %v allocations per row", src, n)
		}
	}
}
