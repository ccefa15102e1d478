package verify

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/testenv"
)

// fillSource creates and fills the tables of the clean-sync tests:
// all_types (every type, extremes, NULLs and zero dates), mariadb_types
// (UUID, INET4, INET6, every spatial type), ukey (a UUID key, which
// MariaDB sorts otherwise than the targets), items (a two-column integer
// key, several chunks) and codes (a case-insensitive string key, which
// MySQL, PostgreSQL and ClickHouse sort differently).
func fillSource(t *testing.T, p *pipeline) {
	t.Helper()
	ctx := context.Background()
	conn, err := p.srcDB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	qs := append([]string{"SET SESSION sql_mode = ''", testenv.AllTypesDDL}, testenv.AllTypesRows...)
	qs = append(append(qs, testenv.MariaDBTypesDDL), testenv.MariaDBTypesRows...)
	for _, q := range qs {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	p.exec("CREATE TABLE items (order_id BIGINT NOT NULL, line INT NOT NULL, sku VARCHAR(20) NOT NULL, qty INT UNSIGNED, note TEXT, PRIMARY KEY (order_id, line))",
		"CREATE TABLE codes (code VARCHAR(20) NOT NULL PRIMARY KEY, label VARCHAR(40), n INT) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci")
	p.exec("CREATE TABLE ukey (k UUID NOT NULL PRIMARY KEY, a INET6, n INT)")
	p.insertRows("ukey", 300, func(i int) string {
		// Time-based UUIDs, which MariaDB sorts by their last group first.
		return fmt.Sprintf("('%08x-%04x-11ef-8d2b-%012x', '2001:db8::%x', %d)", i*7919, i, 300-i, i, i)
	})
	p.insertRows("items", 2500, func(i int) string {
		note := "NULL"
		if i%3 == 0 {
			note = fmt.Sprintf("'note %d ✓'", i)
		}
		return fmt.Sprintf("(%d, %d, 'sku-%d', %d, %s)", i/4, i%4, i%50, i%7, note)
	})
	p.insertRows("codes", 1500, func(i int) string {
		prefixes := []string{"a", "B", "c", "É", "_", "Z"}
		return fmt.Sprintf("('%s-%04d', 'label %d', %d)", prefixes[i%len(prefixes)], i, i, i)
	})
}

// testCleanSync syncs the tables through the real pipeline into a target,
// then verifies: every table equal, every source row compared.
func testCleanSync(t *testing.T, kind endpoint.Kind) {
	p := newPipeline(t, kind)
	fillSource(t, p)
	p.start()
	p.waitSynced("all_types", "mariadb_types", "ukey", "items", "codes")
	cfg := p.config()
	cfg.ChunkRows = 1000
	rep := run(t, cfg)
	requireEqual(t, p, rep, "all_types", "mariadb_types", "ukey", "items", "codes")
	if got := table(t, rep, "items").Chunks; got != 3 {
		t.Errorf("items: %d chunks, want 3 (2500 rows in chunks of 1000)", got)
	}
	t.Logf("\n%s", text(rep))

	// Each value is compared: a change of one value in each of these
	// columns of row 1 is named, column by column.
	changeValues(t, p, kind)
	rep = run(t, cfg)
	tr := table(t, rep, "all_types")
	want := []string{"dbig", "f", "b5", "vcl", "bn", "e", "dtm", "ts", "tm"}
	if tr.Different != 1 || len(tr.Differences) != 1 || !slices.Equal(tr.Differences[0].Columns, want) {
		t.Fatalf("after changing columns %v of id=1:\n%s", want, text(rep))
	}
	tr = table(t, rep, "mariadb_types")
	want = []string{"u", "i4", "i6"}
	if tr.Different != 1 || len(tr.Differences) != 1 || !slices.Equal(tr.Differences[0].Columns, want) {
		t.Fatalf("after changing columns %v of mariadb_types id=2:\n%s", want, text(rep))
	}
	// Repairs write every type through apply's sink.
	cfg.Repair = true
	rep = run(t, cfg)
	if !rep.Equal() || rep.Summary.Repaired != 2 {
		t.Fatalf("after --repair: %d rows repaired, want 2, and equal:\n%s", rep.Summary.Repaired, text(rep))
	}
}

// changeValues changes one value in each of several columns of row 1 of
// all_types in the target, behind apply's back.
func changeValues(t *testing.T, p *pipeline, kind endpoint.Kind) {
	exec := targetExec(t, p, kind)
	switch kind {
	case endpoint.MySQL:
		exec("UPDATE all_types SET dbig = dbig - 1, f = 1.5, b5 = b'10100', vcl = 'x', bn = X'01020001', e = 'a', " +
			"dtm = '2024-02-29 13:14:15.123457', ts = '2024-02-29 13:14:15.124', tm = '838:59:58' WHERE id = 1")
		exec("UPDATE mariadb_types SET u = '6ccd780c-baba-1026-9564-5b8c656024dc', i4 = '255.255.255.254', i6 = '::2' WHERE id = 2")
	case endpoint.Postgres:
		exec(`UPDATE all_types SET dbig = dbig - 1, f = 1.5, b5 = B'10100', vcl = 'x', bn = '\x01020001'::bytea, e = 'a', ` +
			`dtm = dtm + interval '1 microsecond', ts = ts + interval '1 millisecond', tm = tm - interval '1 second' WHERE id = 1`)
		exec(`UPDATE mariadb_types SET u = '6ccd780c-baba-1026-9564-5b8c656024dc', i4 = '255.255.255.254', i6 = '::2' WHERE id = 2`)
	case endpoint.ClickHouse:
		exec("ALTER TABLE db.all_types UPDATE dbig = '1', f = 1.5, b5 = 20, vcl = 'x', bn = 'abcd', e = 'a', " +
			"dtm = dtm + 1, ts = ts + 1000, tm = tm - 1000000 WHERE id = 1")
		exec("ALTER TABLE db.mariadb_types UPDATE u = toUUID('6ccd780c-baba-1026-9564-5b8c656024dc'), i4 = '255.255.255.254', i6 = '::2' WHERE id = 2")
		waitMutations(t)
	}
}

// waitMutations waits until ClickHouse has finished every mutation.
func waitMutations(t *testing.T) {
	t.Helper()
	conn := testenv.ClickHouse(t).Conn(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n uint64
		if err := conn.QueryRow(context.Background(), "SELECT count() FROM system.mutations WHERE is_done = 0").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d ClickHouse mutations still running", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestVerifyCleanSyncMySQL(t *testing.T)      { testCleanSync(t, endpoint.MySQL) }
func TestVerifyCleanSyncPostgres(t *testing.T)   { testCleanSync(t, endpoint.Postgres) }
func TestVerifyCleanSyncClickHouse(t *testing.T) { testCleanSync(t, endpoint.ClickHouse) }
