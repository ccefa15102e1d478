package apply_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	applych "github.com/syncline/syncline/internal/target/clickhouse"
	"github.com/syncline/syncline/testenv"
)

// typedCol is a column of a compared table and how its values are read:
// "int", "uuid", "inet", "bin" (bytes as hex) or "geom" (WKB as hex).
type typedCol struct{ name, kind string }

// mariadbTypesCols are the columns of testenv's mariadb_types fixture.
var mariadbTypesCols = []typedCol{
	{"id", "int"}, {"u", "uuid"}, {"unn", "uuid"}, {"i4", "inet"}, {"i6", "inet"}, {"b16", "bin"},
	{"g", "geom"}, {"pt", "geom"}, {"ls", "geom"}, {"pg", "geom"},
	{"mpt", "geom"}, {"mls", "geom"}, {"mpg", "geom"}, {"gc", "geom"},
}

// uuidKeyCols are the columns of the table keyed by a UUID.
var uuidKeyCols = []typedCol{{"k", "uuid"}, {"i6", "inet"}, {"v", "int"}}

const nullText = "NULL!"

// typedExpr is the expression that reads a column as comparable text on
// one kind of server: "mysql", "postgres" or "clickhouse".
func typedExpr(server string, c typedCol) string {
	switch server {
	case "postgres":
		q := pgx.Identifier{c.name}.Sanitize()
		switch c.kind {
		case "inet":
			q = "host(" + q + ")"
		case "bin", "geom":
			q = "upper(encode(" + q + ", 'hex'))"
		default:
			q += "::text"
		}
		return "coalesce(" + q + ", '" + nullText + "')"
	case "clickhouse":
		q := "`" + c.name + "`"
		switch c.kind {
		case "bin", "geom":
			q = "hex(" + q + ")"
		default:
			q = "toString(" + q + ")"
		}
		return "ifNull(" + q + ", '" + nullText + "')"
	}
	q := "`" + c.name + "`"
	switch c.kind {
	case "bin":
		q = "HEX(" + q + ")"
	case "geom":
		q = "HEX(ST_AsBinary(" + q + "))"
	default:
		q = "CAST(" + q + " AS CHAR)"
	}
	return "IFNULL(" + q + ", '" + nullText + "')"
}

// typedDump reads a table with typedExpr and renders each row as
// "col=value|..." lines, sorted. With sameAddress, INET values are
// rendered in one canonical form: PostgreSQL prints some addresses
// otherwise than MariaDB (the same address).
func typedDump(query func(q string) ([][]string, error), server, from string, cols []typedCol, sameAddress bool) (tableDump, error) {
	exprs := make([]string, len(cols))
	for i, c := range cols {
		exprs[i] = typedExpr(server, c)
	}
	rows, err := query("SELECT " + strings.Join(exprs, ", ") + " FROM " + from)
	if err != nil {
		return tableDump{}, err
	}
	d := tableDump{}
	for _, c := range cols {
		d.cols = append(d.cols, c.name)
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range cols {
			v := r[i]
			if sameAddress && c.kind == "inet" && v != nullText {
				if a, err := netip.ParseAddr(v); err == nil {
					v = "addr:" + a.String()
				}
			}
			b.WriteString(c.name + "=" + v + "|")
		}
		d.rows = append(d.rows, b.String())
	}
	sort.Strings(d.rows)
	return d, nil
}

// sqlQuery runs a query whose columns are all text.
func sqlQuery(db *sql.DB) func(string) ([][]string, error) {
	return func(q string) ([][]string, error) {
		rows, err := db.Query(q)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var out [][]string
		for rows.Next() {
			r := make([]string, len(cols))
			ptrs := make([]any, len(cols))
			for i := range r {
				ptrs[i] = &r[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, rows.Err()
	}
}

// TestMariaDBTypesEndToEnd sends MariaDB's UUID, INET4 and INET6 and every
// spatial type (testenv's mariadb_types, and a table keyed by a UUID)
// through the snapshot and then the binlog (inserts, updates, deletes)
// into each target: every value must read back exactly.
func TestMariaDBTypesEndToEnd(t *testing.T) {
	for _, target := range []string{"mysql", "postgres", "clickhouse"} {
		t.Run(target, func(t *testing.T) {
			p := newPipeline(t)
			var query func(string) ([][]string, error)
			var from func(table string) string
			switch target {
			case "mysql":
				tgt := testenv.Target(t)
				p.spec.Target = tgt.URL("")
				t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE IF EXISTS `"+p.db+"`") })
				query = sqlQuery(tgt.DB(t, ""))
				from = func(table string) string { return "`" + p.db + "`.`" + table + "`" }
			case "postgres":
				pg := testenv.Postgres(t)
				pgdb := pg.NewDatabase(t)
				p.spec.Target = pg.URL(pgdb)
				conn := pg.Conn(t, pgdb)
				query = func(q string) ([][]string, error) {
					rows, err := conn.Query(context.Background(), q)
					if err != nil {
						return nil, err
					}
					return pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]string, error) {
						out := make([]string, len(r.FieldDescriptions()))
						ptrs := make([]any, len(out))
						for i := range out {
							ptrs[i] = &out[i]
						}
						return out, r.Scan(ptrs...)
					})
				}
				from = func(table string) string { return pgx.Identifier{p.db, table}.Sanitize() }
			case "clickhouse":
				ch := testenv.ClickHouse(t)
				p.spec.Target = ch.URL("")
				conn := ch.Conn(t)
				t.Cleanup(func() { _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS `"+p.db+"`") })
				query = func(q string) ([][]string, error) {
					rows, err := conn.Query(context.Background(), q)
					if err != nil {
						return nil, err
					}
					defer rows.Close()
					n := len(rows.Columns())
					var out [][]string
					for rows.Next() {
						r := make([]string, n)
						ptrs := make([]any, n)
						for i := range r {
							ptrs[i] = &r[i]
						}
						if err := rows.Scan(ptrs...); err != nil {
							return nil, err
						}
						out = append(out, r)
					}
					return out, rows.Err()
				}
				from = func(table string) string {
					return "`" + p.db + "`.`" + table + "` FINAL WHERE " + applych.DeletedColumn + " = 0"
				}
			}
			colsOf := map[string][]typedCol{"mariadb_types": mariadbTypesCols, "ukey": uuidKeyCols}
			compare := func(table string) string {
				want, err := typedDump(sqlQuery(p.srcDB), "mysql", "`"+table+"`", colsOf[table], target == "postgres")
				if err != nil {
					return "source: " + err.Error()
				}
				got, err := typedDump(query, target, from(table), colsOf[table], target == "postgres")
				if err != nil {
					return "target: " + err.Error()
				}
				return diff(want, got)
			}
			tables := []string{"mariadb_types", "ukey"}

			p.exec(testenv.MariaDBTypesDDL)
			for _, q := range testenv.MariaDBTypesRows {
				p.exec(q)
			}
			p.exec("CREATE TABLE ukey (k UUID PRIMARY KEY, i6 INET6 NOT NULL, v INT)")
			p.exec("INSERT INTO ukey VALUES ('6ccd780c-baba-1026-9564-5b8c656024db', '::', 1), ('00000000-0000-0000-0000-000000000000', '1::2:3:4:5:6:7', 2), ('ffffffff-ffff-ffff-ffff-ffffffffffff', '::ffff:1.2.3.4', 3)")
			p.startCapture()
			p.startApply()
			waitEqual(t, 60*time.Second, tables, compare)

			// The binlog: the same rows again under other ids, then
			// updates and deletes of these columns and of rows keyed by
			// a UUID.
			for _, q := range testenv.MariaDBTypesRows {
				p.exec(shiftRow(t, q, 100))
			}
			for _, q := range []string{
				"UPDATE mariadb_types SET u = 'e7d4a3f0-3c5a-11ef-8d2b-0242ac120002', unn = '00000000-0000-0000-0000-000000000000', i4 = '0.0.0.0', i6 = '2001:db8::1'," +
					" pt = ST_GeomFromText('POINT(3 4)'), ls = ST_GeomFromText('LINESTRING(1 1,2 2)'), pg = ST_GeomFromText('POLYGON((0 0,2 0,2 2,0 0))')," +
					" mpg = ST_GeomFromText('MULTIPOLYGON(((1 1,2 1,2 2,1 1)))'), gc = ST_GeomFromText('GEOMETRYCOLLECTION(POINT(9 9))') WHERE id IN (1, 101)",
				"UPDATE mariadb_types SET u = NULL, i4 = NULL, i6 = NULL, g = NULL WHERE id IN (2, 102)",
				"UPDATE mariadb_types SET u = '00000000-0000-0000-0000-000000000001', i6 = '::1.2.3.4', g = ST_GeomFromText('POINT(-1 -1)') WHERE id IN (9, 109)",
				"DELETE FROM mariadb_types WHERE id IN (3, 103)",
				"INSERT INTO ukey VALUES ('123e4567-e89b-42d3-a456-426614174000', 'fe80::1', 4)",
				"UPDATE ukey SET v = 20, i6 = '::' WHERE k = '00000000-0000-0000-0000-000000000000'",
				"DELETE FROM ukey WHERE k = 'ffffffff-ffff-ffff-ffff-ffffffffffff'",
				"UPDATE ukey SET k = '00000000-0000-0000-0000-000000000002' WHERE k = '6ccd780c-baba-1026-9564-5b8c656024db'",
			} {
				p.exec(q)
			}
			waitEqual(t, 60*time.Second, tables, compare)
		})
	}
}

// shiftRow rewrites a mariadb_types INSERT to use id+shift.
func shiftRow(t *testing.T, q string, shift int) string {
	for id := 1; id <= 9; id++ {
		for _, pat := range []string{"VALUES (%d,", "VALUES (%d)"} {
			if old := fmt.Sprintf(pat, id); strings.Contains(q, old) {
				return strings.Replace(q, old, fmt.Sprintf(pat, id+shift), 1)
			}
		}
	}
	t.Fatalf("no id in %s", q)
	return ""
}
