package precheck

import (
	"context"
	"time"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/target"
	"github.com/syncline/syncline/internal/target/targetcheck"
)

// targetConn is an open connection to one target, made by the target's
// package through the registry (internal/target/<kind>/precheck.go).
type targetConn struct {
	ep   endpoint.Endpoint
	conn targetcheck.Conn
}

// label names the target in messages: "postgres at 127.0.0.1:5432/db".
func (t *targetConn) label() string { return targetcheck.Label(t.ep) }

// close closes the connection.
func (t *targetConn) close() { t.conn.Close() }

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
		out = append(out, pass(name, "%s: connected as %s (%s)", t.label(), t.conn.User(), t.conn.Version()))
	}
	return out
}

// connectTarget opens a connection to a target, through the registry,
// and reads its user and version.
func connectTarget(ctx context.Context, e endpoint.Endpoint, timeout time.Duration) (*targetConn, error) {
	tg, err := target.Open(e, target.Options{})
	if err != nil {
		return nil, err
	}
	conn, err := tg.Precheck(ctx, timeout)
	if err != nil {
		return nil, err
	}
	return &targetConn{ep: e, conn: conn}, nil
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
		existing, err := t.conn.ExistingTables(ctx, dbs)
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
