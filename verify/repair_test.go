package verify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/testenv"
)

// targetExec returns a function running statements directly on the
// pipeline's target, behind apply's back.
func targetExec(t *testing.T, p *pipeline, kind endpoint.Kind) func(queries ...string) {
	ctx := context.Background()
	switch kind {
	case endpoint.MySQL:
		db := testenv.Target(t).DB(t, p.db)
		return func(queries ...string) {
			t.Helper()
			for _, q := range queries {
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("target: %s: %v", q, err)
				}
			}
		}
	case endpoint.Postgres:
		ep, err := endpoint.Parse(p.target)
		if err != nil {
			t.Fatal(err)
		}
		conn := testenv.Postgres(t).Conn(t, ep.Database)
		return func(queries ...string) {
			t.Helper()
			for _, q := range queries {
				if _, err := conn.Exec(ctx, `SET search_path = "`+p.db+`"; `+q); err != nil {
					t.Fatalf("target: %s: %v", q, err)
				}
			}
		}
	}
	conn := testenv.ClickHouse(t).Conn(t)
	return func(queries ...string) {
		t.Helper()
		for _, q := range queries {
			q = strings.ReplaceAll(q, "db.", "`"+p.db+"`.")
			if err := conn.Exec(ctx, q); err != nil {
				t.Fatalf("target: %s: %v", q, err)
			}
		}
	}
}

// behindApplysBack changes one row, deletes one and inserts one in orders
// (integer key) and in codes (string key) of the target.
func behindApplysBack(t *testing.T, p *pipeline, kind endpoint.Kind) {
	exec := targetExec(t, p, kind)
	switch kind {
	case endpoint.MySQL, endpoint.Postgres:
		exec("UPDATE orders SET amount = amount + 1 WHERE id = 7",
			"DELETE FROM orders WHERE id = 5",
			"INSERT INTO orders (id, customer, amount, note) VALUES (1001, 'ghost', 1.00, NULL)",
			"UPDATE codes SET label = 'changed' WHERE code = 'a-0006'",
			"DELETE FROM codes WHERE code = 'B-0001'",
			"INSERT INTO codes (code, label, n) VALUES ('zz-extra', 'ghost', 0)")
	case endpoint.ClickHouse:
		// Rows are versions: an update or delete is a row of the same
		// version inserted later; the extra rows have version 0.
		const orders = "db.orders (id, customer, amount, note, _syncline_version, _syncline_is_deleted)"
		const codes = "db.codes (code, label, n, _syncline_version, _syncline_is_deleted)"
		exec("INSERT INTO "+orders+" SELECT id, customer, amount + 1, note, _syncline_version, 0 FROM db.orders FINAL WHERE id = 7",
			"INSERT INTO "+orders+" SELECT id, customer, amount, note, _syncline_version, 1 FROM db.orders FINAL WHERE id = 5",
			"INSERT INTO "+orders+" SELECT id + 1000, 'ghost', amount, note, 0, 0 FROM db.orders FINAL WHERE id = 1",
			"INSERT INTO "+codes+" SELECT code, 'changed', n, _syncline_version, 0 FROM db.codes FINAL WHERE code = 'a-0006'",
			"INSERT INTO "+codes+" SELECT code, label, n, _syncline_version, 1 FROM db.codes FINAL WHERE code = 'B-0001'",
			"INSERT INTO "+codes+" SELECT 'zz-extra', 'ghost', 0, 0, 0 FROM db.codes FINAL WHERE code = 'a-0006'")
	}
}

// testDetectAndRepair syncs orders and codes, changes the target behind
// apply's back, and expects verify to name exactly those rows; --repair
// must then make a new verification pass.
func testDetectAndRepair(t *testing.T, kind endpoint.Kind) {
	p := newPipeline(t, kind)
	p.exec("CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, customer VARCHAR(40) NOT NULL, amount DECIMAL(10,2), note TEXT)",
		"CREATE TABLE codes (code VARCHAR(20) NOT NULL PRIMARY KEY, label VARCHAR(40), n INT) COLLATE=utf8mb4_general_ci")
	p.insertRows("orders", 300, func(i int) string { return fmt.Sprintf("(%d, 'c%d', %d.%02d, 'n')", i, i%17, i, i%100) })
	p.insertRows("codes", 30, func(i int) string {
		return fmt.Sprintf("('%s-%04d', 'l%d', %d)", []string{"a", "B"}[i%2], i, i, i)
	})
	p.start()
	p.waitSynced("orders", "codes")
	behindApplysBack(t, p, kind)

	cfg := p.config()
	cfg.ChunkRows = 100
	rep := run(t, cfg)
	want := map[string][]string{
		"orders": {"missing id=5", "different id=7: amount", "extra id=1001"},
		"codes":  {`missing code="B-0001"`, `different code="a-0006": label`, `extra code="zz-extra"`},
	}
	for name, diffs := range want {
		tr := table(t, rep, name)
		var got []string
		for _, d := range tr.Differences {
			got = append(got, d.String())
		}
		slices.Sort(got)
		slices.Sort(diffs)
		if !slices.Equal(got, diffs) || tr.Missing != 1 || tr.Extra != 1 || tr.Different != 1 || tr.Result != ResultDifferent {
			t.Errorf("%s: differences %q, want %q\n%s", name, got, diffs, text(rep))
		}
	}
	if rep.Equal() {
		t.Fatalf("verify reports equal:\n%s", text(rep))
	}
	t.Logf("\n%s", text(rep))

	cfg.Repair = true
	rep = run(t, cfg)
	if !rep.Equal() || rep.Summary.Repaired != 6 {
		t.Fatalf("after --repair: %d rows repaired, want 6, and equal:\n%s", rep.Summary.Repaired, text(rep))
	}
	cfg.Repair = false
	rep = run(t, cfg)
	requireEqual(t, p, rep, "orders", "codes")
}

func TestVerifyRepairMySQL(t *testing.T)      { testDetectAndRepair(t, endpoint.MySQL) }
func TestVerifyRepairPostgres(t *testing.T)   { testDetectAndRepair(t, endpoint.Postgres) }
func TestVerifyRepairClickHouse(t *testing.T) { testDetectAndRepair(t, endpoint.ClickHouse) }
