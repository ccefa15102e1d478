package mysql

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/client"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/grants"
	"github.com/syncline/syncline/internal/target/targetcheck"
)

// Check is syncline precheck's connection to a MySQL or MariaDB target
// (targetcheck.Conn): it checks the user's grants on the target databases.
type Check struct {
	ep      endpoint.Endpoint
	timeout time.Duration
	conn    *client.Conn
	user    string
	version string
}

var _ targetcheck.Conn = (*Check)(nil)

// Connect connects to the target ep for precheck and reads its user and
// version; timeout bounds the connection and each query.
func Connect(ctx context.Context, ep endpoint.Endpoint, timeout time.Duration) (*Check, error) {
	conn, err := endpoint.DialMySQL(ctx, ep, timeout)
	if err != nil {
		return nil, err
	}
	c := &Check{ep: ep, timeout: timeout, conn: conn, user: ep.User}
	// MariaDB prefixes its version with 5.5.5- for old clients.
	v := strings.TrimPrefix(conn.GetServerVersion(), "5.5.5-")
	flavor := "MySQL"
	if strings.Contains(strings.ToLower(v), "mariadb") {
		flavor = "MariaDB"
	}
	c.version = v
	if !strings.Contains(v, flavor) {
		c.version = flavor + " " + v
	}
	if rows, err := c.query(ctx, "SELECT CURRENT_USER()"); err == nil && len(rows) == 1 {
		c.user = grants.QuoteAccount(rows[0][0])
	}
	return c, nil
}

// User is 'user'@'host' as the server knows the user.
func (c *Check) User() string { return c.user }

// Version names the server: "MySQL 8.0.36", "10.11.6-MariaDB-log".
func (c *Check) Version() string { return c.version }

// Close closes the connection.
func (c *Check) Close() { _ = c.conn.Close() }

// query runs q within the timeout.
func (c *Check) query(ctx context.Context, q string) ([][]string, error) {
	return QueryText(ctx, c.conn, c.timeout, q)
}

// privileges returns what apply needs on a MySQL target database.
func privileges() []string { return []string{"CREATE", "INSERT", "UPDATE", "DELETE", "ALTER"} }

// Privileges checks the grants of the user on dbs; with no dbs there is
// nothing to check.
func (c *Check) Privileges(ctx context.Context, dbs []string) (targetcheck.Result, bool) {
	if len(dbs) == 0 {
		return targetcheck.Result{}, false
	}
	label := targetcheck.Label(c.ep)
	needed := privileges()
	gs, err := grants.Read(ctx, c.query)
	if err != nil {
		return targetcheck.Warnf("check by hand that the user has "+strings.Join(needed, ", "), "%s: cannot read the grants of %s: %v", label, c.user, err), true
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
		return targetcheck.Passf("%s: %s has %s on %s", label, c.user, strings.Join(needed, ", "), targetcheck.ListNames(dbs, 10)), true
	}
	var problems, stmts []string
	for _, db := range slices.Sorted(maps.Keys(missing)) {
		problems = append(problems, fmt.Sprintf("%s on %s", strings.Join(missing[db], ", "), db))
		stmts = append(stmts, fmt.Sprintf("GRANT %s ON %s.* TO %s", strings.Join(needed, ", "), quote(db), c.user))
	}
	return targetcheck.Failf(strings.Join(stmts, "; ")+gs.RoleNote(),
		"%s: %s lacks %s: apply creates, fills and alters the target tables", label, c.user, strings.Join(problems, "; ")), true
}

// ExistingTables returns the tables of dbs, as db.table.
func (c *Check) ExistingTables(ctx context.Context, dbs []string) (map[string]bool, error) {
	rows, err := c.query(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ("+targetcheck.InList(dbs)+")")
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool)
	for _, row := range rows {
		out[row[0]+"."+row[1]] = true
	}
	return out, nil
}

// QueryText runs q on a MySQL connection within timeout (and ctx) and returns
// its rows as strings, NULL as "". A query that runs out of time closes the
// connection.
func QueryText(ctx context.Context, conn *client.Conn, timeout time.Duration, q string) ([][]string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	res, err := conn.Execute(q)
	if stop() {
		_ = conn.SetDeadline(time.Time{})
	}
	if err != nil {
		if ctx.Err() != nil {
			// The protocol stopped mid-exchange: the connection is of no
			// further use, and later queries fail at once.
			_ = conn.Close()
			return nil, fmt.Errorf("no answer within %s", timeout)
		}
		return nil, err
	}
	defer res.Close()
	if res.Resultset == nil {
		return nil, nil
	}
	rows := make([][]string, res.RowNumber())
	for i := range rows {
		row := make([]string, res.ColumnNumber())
		for j := range row {
			s, err := res.GetString(i, j)
			if err != nil {
				return nil, err
			}
			row[j] = strings.Clone(s) // the result's buffers go back to a pool
		}
		rows[i] = row
	}
	return rows, nil
}
