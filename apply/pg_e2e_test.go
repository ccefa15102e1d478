package apply_test

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/testenv"
)

// fraction matches a timestamp with fractional seconds, whose trailing
// zeros MariaDB prints and PostgreSQL does not.
var fraction = regexp.MustCompile(`^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d*?)0*$`)

func normalize(v string) string {
	if m := fraction.FindStringSubmatch(v); m != nil {
		if m[2] == "" {
			return m[1]
		}
		return m[1] + "." + m[2]
	}
	return v
}

// dumpByName renders rows as sorted "col=value" lists, so that column order
// does not matter (PostgreSQL appends added columns).
func dumpByName(cols []string, rows [][]*string) tableDump {
	idx := make([]int, len(cols))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return cols[idx[a]] < cols[idx[b]] })
	d := tableDump{}
	for _, i := range idx {
		d.cols = append(d.cols, cols[i])
	}
	for _, r := range rows {
		var b strings.Builder
		for _, i := range idx {
			b.WriteString(cols[i] + "=")
			if r[i] == nil {
				b.WriteString(`\N`)
			} else {
				b.WriteString(normalize(*r[i]))
			}
			b.WriteByte('|')
		}
		d.rows = append(d.rows, b.String())
	}
	sort.Strings(d.rows)
	return d
}

// dumpSourceText reads a MariaDB table with every column as PostgreSQL's
// ::text would print it (BIT as a string of bits).
func dumpSourceText(db *sql.DB, schemaName, table string) (tableDump, error) {
	r, err := db.Query("SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", schemaName, table)
	if err != nil {
		return tableDump{}, err
	}
	var cols, exprs []string
	for r.Next() {
		var name, dataType, colType string
		if err := r.Scan(&name, &dataType, &colType); err != nil {
			r.Close()
			return tableDump{}, err
		}
		q := "`" + strings.ReplaceAll(name, "`", "``") + "`"
		if dataType == "bit" {
			var n int
			fmt.Sscanf(colType, "bit(%d)", &n)
			q = fmt.Sprintf("LPAD(BIN(%s), %d, '0')", q, n)
		}
		cols, exprs = append(cols, name), append(exprs, q)
	}
	r.Close()
	if len(cols) == 0 {
		return tableDump{}, fmt.Errorf("no table %s.%s", schemaName, table)
	}
	rows, err := db.Query("SELECT " + strings.Join(exprs, ", ") + " FROM `" + schemaName + "`.`" + table + "`")
	if err != nil {
		return tableDump{}, err
	}
	defer rows.Close()
	var out [][]*string
	for rows.Next() {
		row, err := testenv.ScanStrings(rows)
		if err != nil {
			return tableDump{}, err
		}
		out = append(out, row)
	}
	return dumpByName(cols, out), rows.Err()
}

// dumpPostgres reads schema.table with every column but the version as
// text.
func dumpPostgres(ctx context.Context, conn *pgx.Conn, schemaName, table string) (tableDump, error) {
	rows, err := conn.Query(ctx, "SELECT column_name::text FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name <> $3 ORDER BY ordinal_position", schemaName, table, apply.VersionColumn)
	if err != nil {
		return tableDump{}, err
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return tableDump{}, err
	}
	if len(cols) == 0 {
		return tableDump{}, fmt.Errorf("no table %s.%s", schemaName, table)
	}
	exprs := make([]string, len(cols))
	for i, c := range cols {
		exprs[i] = pgx.Identifier{c}.Sanitize() + "::text"
	}
	rows, err = conn.Query(ctx, "SELECT "+strings.Join(exprs, ", ")+" FROM "+pgx.Identifier{schemaName, table}.Sanitize())
	if err != nil {
		return tableDump{}, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]*string, error) {
		vals := make([]*string, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		return vals, r.Scan(ptrs...)
	})
	if err != nil {
		return tableDump{}, err
	}
	return dumpByName(cols, out), nil
}

func pgCompare(t *testing.T, p *pipeline, conn *pgx.Conn) func(table string) string {
	return func(table string) string {
		want, err := dumpSourceText(p.srcDB, p.db, table)
		if err != nil {
			return "source: " + err.Error()
		}
		got, err := dumpPostgres(context.Background(), conn, p.db, table)
		if err != nil {
			return "target: " + err.Error()
		}
		return diff(want, got)
	}
}

// TestEndToEndPostgres runs source -> capture -> Kafka -> apply ->
// PostgreSQL under a concurrent write load, with schema changes while it
// runs.
func TestEndToEndPostgres(t *testing.T) {
	p := newPipeline(t)
	pg := testenv.Postgres(t)
	pgdb := pg.NewDatabase(t)
	p.spec.Target = pg.URL(pgdb)
	conn := pg.Conn(t, pgdb)
	p.createLoadTables()
	p.exec("CREATE TABLE d (id INT PRIMARY KEY, a VARCHAR(10), b INT, c INT)")
	p.exec("CREATE TABLE e (id INT PRIMARY KEY, v VARCHAR(10))")
	for i := 1; i <= 100; i++ {
		p.exec("INSERT INTO d VALUES (?, 'a', ?, ?)", i, i, i)
		p.exec("INSERT INTO e VALUES (?, 'e')", i)
	}
	p.startCapture()
	p.startApply()

	ctx, cancel := context.WithCancel(context.Background())
	l := startLoad(ctx, t, p.srcDB, 4, 4)
	for _, q := range []string{
		"ALTER TABLE d ADD COLUMN x BIGINT NULL AFTER a",
		"UPDATE d SET x = id * 1000000000 WHERE id % 2 = 0",
		"ALTER TABLE d DROP COLUMN b",
		"ALTER TABLE d MODIFY COLUMN a VARCHAR(40)",
		"UPDATE d SET a = 'a much longer value' WHERE id < 10",
		"ALTER TABLE d RENAME COLUMN c TO c2",
		"INSERT INTO d (id, a, x, c2) VALUES (1000, 'new', 1, 2)",
		"TRUNCATE TABLE e",
		"INSERT INTO e VALUES (7, 'after')",
		"RENAME TABLE e TO e2",
		"INSERT INTO e2 VALUES (8, 'renamed')",
	} {
		p.exec(q)
		time.Sleep(300 * time.Millisecond)
	}
	cancel()
	ops := l.wait(t)
	began := time.Now()
	waitEqual(t, 60*time.Second, []string{"orders", "items", "d", "e2"}, pgCompare(t, p, conn))
	t.Logf("%d source transactions; target equal %s after the load stopped", ops, time.Since(began).Round(time.Millisecond))
}

// TestSkipDDL: a type change PostgreSQL cannot cast stops apply with an
// error naming the statement and --skip-ddl; with the flag, apply goes on
// and keeps the column's type.
func TestSkipDDL(t *testing.T) {
	p := newPipeline(t)
	pg := testenv.Postgres(t)
	pgdb := pg.NewDatabase(t)
	p.spec.Target = pg.URL(pgdb)
	conn := pg.Conn(t, pgdb)
	p.exec("CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10))")
	p.exec("INSERT INTO t VALUES (1, '12'), (2, 'abc')")
	p.startCapture()
	stop := p.startApply()
	waitEqual(t, 60*time.Second, []string{"t"}, pgCompare(t, p, conn))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	src, err := p.srcDB.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for _, q := range []string{"SET SESSION sql_mode = ''", "ALTER TABLE t MODIFY a INT", "INSERT INTO t VALUES (3, 7)"} {
		if _, err := src.ExecContext(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = p.newApply(nil)(ctx)
	m := regexp.MustCompile(`--skip-ddl (\d+)`).FindStringSubmatch(fmt.Sprint(err))
	if m == nil || !strings.Contains(err.Error(), "ALTER TABLE t MODIFY a INT") {
		t.Fatalf("apply returned %v; want an error naming the statement and --skip-ddl", err)
	}
	t.Logf("apply stopped: %v", err)
	var version int64
	fmt.Sscan(m[1], &version)
	p.spec.SkipDDL = []int64{version}
	stop = p.startApply()
	waitFor(t, 60*time.Second, "row 3 in the target", func() bool {
		var a string
		err := conn.QueryRow(context.Background(), `SELECT a FROM "`+p.db+`".t WHERE id = 3`).Scan(&a)
		return err == nil && a == "7"
	})
	var typ string
	if err := conn.QueryRow(context.Background(), `SELECT data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 't' AND column_name = 'a'`, p.db).Scan(&typ); err != nil {
		t.Fatal(err)
	}
	if typ != "character varying" {
		t.Errorf("column a is %s after the skipped change; want character varying", typ)
	}
	// Started again without the flag, apply remembers the skip.
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	p.spec.SkipDDL = nil
	p.exec("INSERT INTO t VALUES (4, 8)")
	p.startApply()
	waitFor(t, 60*time.Second, "row 4 in the target", func() bool {
		var a string
		err := conn.QueryRow(context.Background(), `SELECT a FROM "`+p.db+`".t WHERE id = 4`).Scan(&a)
		return err == nil && a == "8"
	})
}
