package precheck

import (
	"context"
	"fmt"
	"strings"
	"time"

	chdriver "github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/go-mysql-org/go-mysql/client"
	"github.com/jackc/pgx/v5"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/grants"
)

// targetConn is an open connection to one target; exactly one of my, pg and
// ch is set, by the endpoint's kind.
type targetConn struct {
	ep      endpoint.Endpoint
	timeout time.Duration
	user    string // 'user'@'host' on MySQL, the user name elsewhere
	version string

	my *client.Conn
	pg *pgx.Conn
	ch chdriver.Conn
}

// label names the target in messages: "postgres at 127.0.0.1:5432/db".
func (t *targetConn) label() string { return targetLabel(t.ep) }

// targetLabel names an endpoint in messages without its password.
func targetLabel(e endpoint.Endpoint) string {
	s := fmt.Sprintf("%s at %s", e.Kind, e.Addr())
	if e.Database != "" {
		s += "/" + e.Database
	}
	return s
}

// mysqlQuery runs q on a MySQL target.
func (t *targetConn) mysqlQuery(ctx context.Context, q string) ([][]string, error) {
	return query(ctx, t.my, t.timeout, q)
}

// close closes the connection.
func (t *targetConn) close() {
	switch {
	case t.my != nil:
		_ = t.my.Close()
	case t.pg != nil:
		ctx, cancel := context.WithTimeout(context.Background(), t.timeout)
		defer cancel()
		_ = t.pg.Close(ctx)
	case t.ch != nil:
		_ = t.ch.Close()
	}
}

// checkTargetConnect connects to every target.
func checkTargetConnect(ctx context.Context, r *run) []Result {
	const name = "target.connect"
	r.targets = make([]*targetConn, len(r.cfg.Targets))
	var out []Result
	for i, e := range r.cfg.Targets {
		r.log.Debug("connecting to target", "endpoint", e.Redacted())
		t, err := connectTarget(ctx, e, r.cfg.Timeout)
		if err != nil {
			out = append(out, fail(name, connectFix(err), "%s", connectProblem(err)))
			continue
		}
		r.targets[i] = t
		out = append(out, pass(name, "%s: connected as %s (%s)", t.label(), t.user, t.version))
	}
	return out
}

// connectTarget opens a connection to a target and reads its user and
// version.
func connectTarget(ctx context.Context, e endpoint.Endpoint, timeout time.Duration) (*targetConn, error) {
	t := &targetConn{ep: e, timeout: timeout, user: e.User}
	var err error
	switch e.Kind {
	case endpoint.MySQL:
		if t.my, err = endpoint.DialMySQL(ctx, e, timeout); err != nil {
			return nil, err
		}
		// MariaDB prefixes its version with 5.5.5- for old clients.
		v := strings.TrimPrefix(t.my.GetServerVersion(), "5.5.5-")
		flavor, _, _ := parseVersion(v, "")
		t.version = describeVersion(flavor, v)
		if rows, err := t.mysqlQuery(ctx, "SELECT CURRENT_USER()"); err == nil && len(rows) == 1 {
			t.user = grants.QuoteAccount(rows[0][0])
		}
	case endpoint.Postgres:
		if t.pg, err = endpoint.ConnectPostgres(ctx, e, timeout); err != nil {
			return nil, err
		}
		t.version = "PostgreSQL " + t.pg.PgConn().ParameterStatus("server_version")
	case endpoint.ClickHouse:
		if t.ch, err = endpoint.OpenClickHouse(ctx, e, timeout); err != nil {
			return nil, err
		}
		t.version = "ClickHouse"
		if v, err := t.ch.ServerVersion(); err == nil {
			t.version = "ClickHouse " + v.Version.String()
		}
	default:
		return nil, fmt.Errorf("unknown target kind %q", e.Kind)
	}
	return t, nil
}

// checkTargetTables warns about every selected table that already exists in
// a target under the name apply would give it: db.table on MySQL and
// ClickHouse, schema db, table table in PostgreSQL's database.
func checkTargetTables(ctx context.Context, r *run) []Result {
	const name = "target.tables"
	dbs := r.sourceDatabases()
	if len(dbs) == 0 {
		return nil
	}
	var out []Result
	for _, t := range r.targets {
		if t == nil {
			continue
		}
		existing, err := t.existingTables(ctx, dbs)
		if err != nil {
			out = append(out, warn(name, "check by hand which target tables exist already", "%s: cannot list tables: %v", t.label(), err))
			continue
		}
		found := 0
		for _, st := range r.tables {
			if existing[st.String()] {
				found++
				out = append(out, warn(name,
					"if that is not intended, drop or rename it, or point the task at another target database; apply otherwise upserts into it",
					"%s: the task will write into existing table %s", t.label(), st))
			}
		}
		if found == 0 {
			out = append(out, pass(name, "%s: none of the %s exists yet; apply will create them", t.label(), tablesSelected(len(r.tables))))
		}
	}
	return out
}

// existingTables returns the tables of the target in dbs (schemas on
// PostgreSQL), as db.table.
func (t *targetConn) existingTables(ctx context.Context, dbs []string) (map[string]bool, error) {
	out := make(map[string]bool)
	switch {
	case t.my != nil:
		rows, err := t.mysqlQuery(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ("+inList(dbs)+")")
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			out[row[0]+"."+row[1]] = true
		}
	case t.pg != nil:
		ctx, cancel := context.WithTimeout(ctx, t.timeout)
		defer cancel()
		// pg_class, not information_schema, which hides tables the user has
		// no privilege on.
		rows, err := t.pg.Query(ctx, `SELECT n.nspname, c.relname FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname = ANY($1)`, dbs)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
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
	case t.ch != nil:
		ctx, cancel := context.WithTimeout(ctx, t.timeout)
		defer cancel()
		rows, err := t.ch.Query(ctx, "SELECT database, name FROM system.tables WHERE database IN ("+inList(dbs)+")")
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var db, table string
			if err := rows.Scan(&db, &table); err != nil {
				return nil, err
			}
			out[db+"."+table] = true
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Target checks one target as apply needs it when it starts: it connects
// (the credentials, the database the URL names), then checks that the user
// may create, alter and write the tables of dbs (MySQL databases or
// PostgreSQL schemas; on ClickHouse with a scratch table; with no dbs on
// MySQL and PostgreSQL, the connection only). When the connection fails,
// the error says why and wraps endpoint's sentinels (ErrAuth,
// ErrUnknownDatabase, ErrUnreachable); otherwise the report holds the
// target.privileges results.
func Target(ctx context.Context, e endpoint.Endpoint, dbs []string, timeout time.Duration) (Report, error) {
	r := &run{cfg: Config{Targets: []endpoint.Endpoint{e}, Timeout: timeout}.withDefaults()}
	r.log = r.cfg.Logger
	defer r.close()
	t, err := connectTarget(ctx, e, r.cfg.Timeout)
	if err != nil {
		return Report{}, err
	}
	r.targets = []*targetConn{t}
	for _, db := range dbs {
		r.tables = append(r.tables, sourceTable{db: db})
	}
	return Report{Results: checkTargetPrivileges(ctx, r)}, nil
}
