package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/target/targetcheck"
)

// Check is syncline precheck's connection to a PostgreSQL target
// (targetcheck.Conn): it checks the user's role and its privileges on the
// database and the schemas apply writes.
type Check struct {
	ep      endpoint.Endpoint
	timeout time.Duration
	conn    *pgx.Conn
	user    string
	version string
}

var _ targetcheck.Conn = (*Check)(nil)

// Connect connects to the target ep for precheck and reads its version;
// timeout bounds the connection and each query.
func Connect(ctx context.Context, ep endpoint.Endpoint, timeout time.Duration) (*Check, error) {
	conn, err := endpoint.ConnectPostgres(ctx, ep, timeout)
	if err != nil {
		return nil, err
	}
	return &Check{ep: ep, timeout: timeout, conn: conn, user: ep.User,
		version: "PostgreSQL " + conn.PgConn().ParameterStatus("server_version")}, nil
}

// User is the user name of the URL.
func (t *Check) User() string { return t.user }

// Version names the server: "PostgreSQL 16.1".
func (t *Check) Version() string { return t.version }

// Close closes the connection.
func (t *Check) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), t.timeout)
	defer cancel()
	_ = t.conn.Close(ctx)
}

// ExistingTables returns the tables of the schemas dbs, as schema.table.
func (t *Check) ExistingTables(ctx context.Context, dbs []string) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	// pg_class, not information_schema, which hides tables the user has
	// no privilege on.
	rows, err := t.conn.Query(ctx, `SELECT n.nspname, c.relname FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname = ANY($1)`, dbs)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]bool)
	for rows.Next() {
		var schema, table string
		if err := rows.Scan(&schema, &table); err != nil {
			return nil, err
		}
		out[schema+"."+table] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Privileges checks that the user may create the schemas (one per source
// database) and tables apply writes; with no schemas there is nothing to
// check.
func (t *Check) Privileges(ctx context.Context, schemas []string) (targetcheck.Result, bool) {
	if len(schemas) == 0 {
		return targetcheck.Result{}, false
	}
	return t.privileges(ctx, schemas), true
}

// privileges is Privileges for some schemas.
func (t *Check) privileges(ctx context.Context, schemas []string) targetcheck.Result {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	var (
		user             string
		superuser, dbCan bool
	)
	err := t.conn.QueryRow(ctx, `SELECT current_user, r.rolsuper, has_database_privilege(current_database(), 'CREATE')
		FROM pg_roles r WHERE r.rolname = current_user`).Scan(&user, &superuser, &dbCan)
	if err != nil {
		return targetcheck.Warnf("check by hand that the user may create schemas and tables", "%s: cannot read the user's privileges: %v", targetcheck.Label(t.ep), err)
	}
	if superuser {
		return targetcheck.Passf("%s: %s is a superuser", targetcheck.Label(t.ep), user)
	}
	rows, err := t.conn.Query(ctx, `SELECT n.nspname, has_schema_privilege(n.oid, 'CREATE'), has_schema_privilege(n.oid, 'USAGE')
		FROM pg_namespace n WHERE n.nspname = ANY($1)`, schemas)
	if err != nil {
		return targetcheck.Warnf("check by hand that the user may create schemas and tables", "%s: cannot read schema privileges: %v", targetcheck.Label(t.ep), err)
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
			return targetcheck.Warnf("check by hand that the user may create tables", "%s: cannot read schema privileges: %v", targetcheck.Label(t.ep), err)
		}
		existing[schema] = true
		if !create || !usage {
			lacking = append(lacking, schema)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return targetcheck.Warnf("check by hand that the user may create tables", "%s: cannot read schema privileges: %v", targetcheck.Label(t.ep), err)
	}
	var fixes, problems []string
	for _, s := range lacking {
		problems = append(problems, fmt.Sprintf("CREATE and USAGE on schema %s", s))
		fixes = append(fixes, fmt.Sprintf("GRANT CREATE, USAGE ON SCHEMA %s TO %s", quote(s), quote(user)))
	}
	var toCreate []string
	for _, s := range schemas {
		if !existing[s] {
			toCreate = append(toCreate, s)
		}
	}
	if len(toCreate) > 0 && !dbCan {
		problems = append(problems, fmt.Sprintf("CREATE on the database (to create schemas %s)", targetcheck.ListNames(toCreate, 10)))
		fixes = append(fixes, fmt.Sprintf("GRANT CREATE ON DATABASE %s TO %s", quote(t.ep.Database), quote(user)))
	}
	if len(problems) > 0 {
		return targetcheck.Failf(strings.Join(fixes, "; "), "%s: %s lacks %s: apply creates and fills the target tables", targetcheck.Label(t.ep), user, strings.Join(problems, "; "))
	}
	return targetcheck.Passf("%s: %s may create schemas and tables for %s", targetcheck.Label(t.ep), user, targetcheck.ListNames(schemas, 10))
}
