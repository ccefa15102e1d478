package precheck

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/grants"
)

// checkReplicationPrivileges requires the source user to have REPLICATION
// SLAVE (to read the binlog) and REPLICATION CLIENT, called BINLOG MONITOR
// on MariaDB 10.5 and later (to read binlog positions).
func checkReplicationPrivileges(ctx context.Context, r *run) []Result {
	const name = "source.privileges"
	s := r.source
	if s == nil {
		return nil
	}
	gs, err := grants.Read(ctx, s.query)
	if err != nil {
		return []Result{warn(name, "check by hand that the user has REPLICATION SLAVE and REPLICATION CLIENT", "cannot read the grants of %s: %v", s.user, err)}
	}
	s.grants = gs
	clientName := "REPLICATION CLIENT"
	if s.mariaDB() && s.atLeast(10, 5) {
		clientName = "BINLOG MONITOR"
	}
	var missing, why []string
	if !gs.Any(grants.Grant.Global, "REPLICATION SLAVE", "REPLICATION REPLICA") {
		missing = append(missing, "REPLICATION SLAVE")
		why = append(why, "REPLICATION SLAVE to read the binlog")
	}
	if !gs.Any(grants.Grant.Global, "REPLICATION CLIENT", "BINLOG MONITOR", "SUPER") {
		missing = append(missing, clientName)
		why = append(why, clientName+" to read binlog positions")
	}
	if len(missing) > 0 {
		return []Result{fail(name,
			fmt.Sprintf("GRANT %s ON *.* TO %s", strings.Join(missing, ", "), s.user)+gs.RoleNote(),
			"%s lacks %s: capture needs %s", s.user, strings.Join(missing, " and "), strings.Join(why, " and "))}
	}
	return []Result{pass(name, "%s has REPLICATION SLAVE and %s", s.user, clientName)}
}

// checkSelectPrivilege requires SELECT on every selected table, for the
// snapshot.
func checkSelectPrivilege(_ context.Context, r *run) []Result {
	const name = "source.select"
	s := r.source
	if s == nil || s.grants.Len() == 0 || len(r.tables) == 0 {
		return nil
	}
	var lacking []string
	dbs := make(map[string]bool)
	for _, t := range r.tables {
		if !s.grants.Any(func(g grants.Grant) bool { return g.CoversTable(t.db, t.name) }, "SELECT") {
			lacking = append(lacking, t.String())
			dbs[t.db] = true
		}
	}
	if len(lacking) > 0 {
		var stmts []string
		for _, db := range sortedKeys(dbs) {
			stmts = append(stmts, fmt.Sprintf("GRANT SELECT ON %s.* TO %s", quoteIdent(db), s.user))
		}
		return []Result{fail(name, strings.Join(stmts, "; ")+s.grants.RoleNote(),
			"%s lacks SELECT on %s: the snapshot reads them", s.user, listNames(lacking, 10))}
	}
	return []Result{pass(name, "%s may SELECT the %s", s.user, tablesSelected(len(r.tables)))}
}

// targetPrivileges returns what apply needs on a MySQL target database.
func targetPrivileges() []string { return []string{"CREATE", "INSERT", "UPDATE", "DELETE", "ALTER"} }

// checkTargetPrivileges checks that each target's user can create and
// change the target tables: by its grants on MySQL, by its role and
// database privileges on PostgreSQL, and on ClickHouse by creating,
// changing and dropping a scratch table.
func checkTargetPrivileges(ctx context.Context, r *run) []Result {
	const name = "target.privileges"
	dbs := r.sourceDatabases()
	var out []Result
	for _, t := range r.targets {
		if t == nil {
			continue
		}
		var res Result
		switch t.ep.Kind {
		case endpoint.MySQL:
			if len(dbs) == 0 {
				continue
			}
			res = t.mysqlPrivileges(ctx, dbs)
		case endpoint.Postgres:
			if len(dbs) == 0 {
				continue
			}
			res = t.postgresPrivileges(ctx, dbs)
		case endpoint.ClickHouse:
			res = t.clickhousePrivileges(ctx)
		}
		res.Check = name
		out = append(out, res)
	}
	return out
}

// mysqlPrivileges checks the grants of a MySQL target's user on dbs.
func (t *targetConn) mysqlPrivileges(ctx context.Context, dbs []string) Result {
	needed := targetPrivileges()
	gs, err := grants.Read(ctx, t.mysqlQuery)
	if err != nil {
		return warn("", "check by hand that the user has "+strings.Join(needed, ", "), "%s: cannot read the grants of %s: %v", t.label(), t.user, err)
	}
	missing := make(map[string][]string) // database -> privileges it lacks
	for _, db := range dbs {
		for _, p := range needed {
			if !gs.Any(func(g grants.Grant) bool { return g.CoversDB(db) }, p) {
				missing[db] = append(missing[db], p)
			}
		}
	}
	if len(missing) == 0 {
		return pass("", "%s: %s has %s on %s", t.label(), t.user, strings.Join(needed, ", "), listNames(dbs, 10))
	}
	var problems, stmts []string
	for _, db := range sortedKeys(missing) {
		problems = append(problems, fmt.Sprintf("%s on %s", strings.Join(missing[db], ", "), db))
		stmts = append(stmts, fmt.Sprintf("GRANT %s ON %s.* TO %s", strings.Join(needed, ", "), quoteIdent(db), t.user))
	}
	return fail("", strings.Join(stmts, "; ")+gs.RoleNote(),
		"%s: %s lacks %s: apply creates, fills and alters the target tables", t.label(), t.user, strings.Join(problems, "; "))
}

// postgresPrivileges checks that a PostgreSQL target's user may create the
// schemas (one per source database) and tables apply writes.
func (t *targetConn) postgresPrivileges(ctx context.Context, schemas []string) Result {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	var (
		user             string
		superuser, dbCan bool
	)
	err := t.pg.QueryRow(ctx, `SELECT current_user, r.rolsuper, has_database_privilege(current_database(), 'CREATE')
		FROM pg_roles r WHERE r.rolname = current_user`).Scan(&user, &superuser, &dbCan)
	if err != nil {
		return warn("", "check by hand that the user may create schemas and tables", "%s: cannot read the user's privileges: %v", t.label(), err)
	}
	if superuser {
		return pass("", "%s: %s is a superuser", t.label(), user)
	}
	rows, err := t.pg.Query(ctx, `SELECT n.nspname, has_schema_privilege(n.oid, 'CREATE'), has_schema_privilege(n.oid, 'USAGE')
		FROM pg_namespace n WHERE n.nspname = ANY($1)`, schemas)
	if err != nil {
		return warn("", "check by hand that the user may create schemas and tables", "%s: cannot read schema privileges: %v", t.label(), err)
	}
	existing := make(map[string]bool)
	var lacking []string
	for rows.Next() {
		var (
			schema        string
			create, usage bool
		)
		if err := rows.Scan(&schema, &create, &usage); err != nil {
			rows.Close()
			return warn("", "check by hand that the user may create tables", "%s: cannot read schema privileges: %v", t.label(), err)
		}
		existing[schema] = true
		if !create || !usage {
			lacking = append(lacking, schema)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return warn("", "check by hand that the user may create tables", "%s: cannot read schema privileges: %v", t.label(), err)
	}
	var fixes, problems []string
	for _, s := range lacking {
		problems = append(problems, fmt.Sprintf("CREATE and USAGE on schema %s", s))
		fixes = append(fixes, fmt.Sprintf("GRANT CREATE, USAGE ON SCHEMA %s TO %s", pgIdent(s), pgIdent(user)))
	}
	var toCreate []string
	for _, s := range schemas {
		if !existing[s] {
			toCreate = append(toCreate, s)
		}
	}
	if len(toCreate) > 0 && !dbCan {
		problems = append(problems, fmt.Sprintf("CREATE on the database (to create schemas %s)", listNames(toCreate, 10)))
		fixes = append(fixes, fmt.Sprintf("GRANT CREATE ON DATABASE %s TO %s", pgIdent(t.ep.Database), pgIdent(user)))
	}
	if len(problems) > 0 {
		return fail("", strings.Join(fixes, "; "), "%s: %s lacks %s: apply creates and fills the target tables", t.label(), user, strings.Join(problems, "; "))
	}
	return pass("", "%s: %s may create schemas and tables for %s", t.label(), user, listNames(schemas, 10))
}

// clickhousePrivileges proves a ClickHouse target's rights by creating a
// scratch database and table, inserting a row, adding a column and dropping
// them again. ClickHouse before 20.4 (such as 18.16) has no SQL grants to
// read, so this is the only honest test on every version.
func (t *targetConn) clickhousePrivileges(ctx context.Context) Result {
	ctx, cancel := context.WithTimeout(ctx, 3*t.timeout)
	defer cancel()
	db := "syncline_precheck_" + randomSuffix()
	fix := fmt.Sprintf("let %s create, alter and drop databases and tables, and insert into them", t.user)
	steps := []string{
		"CREATE DATABASE " + db,
		"CREATE TABLE " + db + ".t (id UInt64, version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY id",
		"", // insert, below
		"ALTER TABLE " + db + ".t ADD COLUMN c String",
		"DROP TABLE " + db + ".t",
		"DROP DATABASE " + db,
	}
	for i, stmt := range steps {
		var err error
		if stmt == "" {
			err = t.clickhouseInsert(ctx, db+".t")
			stmt = "INSERT INTO " + db + ".t"
		} else {
			err = t.ch.Exec(ctx, stmt)
		}
		if err != nil {
			if i > 0 {
				_ = t.ch.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+db)
			}
			return fail("", fix, "%s: %s failed for %s: %s", t.label(), stmt, t.user, oneLine(err.Error()))
		}
	}
	return pass("", "%s: %s created, filled, altered and dropped a scratch table in %s", t.label(), t.user, db)
}

// clickhouseInsert inserts one row through a batch (inline INSERT ...
// VALUES through Exec hangs on old servers).
func (t *targetConn) clickhouseInsert(ctx context.Context, table string) error {
	batch, err := t.ch.PrepareBatch(ctx, "INSERT INTO "+table+" (id, version)")
	if err != nil {
		return err
	}
	if err := batch.Append(uint64(1), uint64(1)); err != nil {
		_ = batch.Abort()
		return err
	}
	return batch.Send()
}

// randomSuffix returns 8 random hex characters for scratch names.
func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// quoteIdent quotes a MySQL identifier with backticks.
func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// pgIdent quotes a PostgreSQL identifier.
func pgIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
