package precheck

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/syncline/syncline/internal/grants"
	"github.com/syncline/syncline/internal/target/targetcheck"
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
			"%s lacks SELECT on %s: the snapshot reads them", s.user, targetcheck.ListNames(lacking, 10))}
	}
	return []Result{pass(name, "%s may SELECT the %s", s.user, tablesSelected(len(r.tables)))}
}

// checkTargetPrivileges checks that each target's user can create and
// change the target tables, as the target's package checks it: by its
// grants on MySQL, by its role and database privileges on PostgreSQL, and
// on ClickHouse by creating, changing and dropping a scratch table.
func checkTargetPrivileges(ctx context.Context, r *run) []Result {
	const name = "target.privileges"
	dbs := r.sourceDatabases()
	var out []Result
	for _, t := range r.targets {
		if t == nil {
			continue
		}
		res, ok := t.conn.Privileges(ctx, dbs)
		if !ok {
			continue
		}
		out = append(out, targetResult(name, res))
	}
	return out
}

// targetResult is a target's result as the result of check.
func targetResult(check string, res targetcheck.Result) Result {
	out := Result{Check: check, Status: Pass, Message: res.Message, Fix: res.Fix}
	switch res.Status {
	case targetcheck.Warn:
		out.Status = Warn
	case targetcheck.Fail:
		out.Status = Fail
	}
	return out
}

// quoteIdent quotes a MySQL identifier with backticks.
func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
