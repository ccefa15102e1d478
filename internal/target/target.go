// Package target is the registry of Syncline's targets: it opens the target
// an endpoint names, by its URL scheme (endpoint.Kind), and gives apply,
// verify's repair and bench the target's writer, verify its reader and
// precheck its checks.
//
// Each target lives in a folder of its own (internal/target/mysql,
// internal/target/postgres, internal/target/clickhouse) and is listed once,
// in targets below. The target packages import neither this package nor
// each other; what they share is apply's Sink contract, the
// schema-evolution planner of internal/target/plan, verify's reader
// contract of internal/target/verifyread and precheck's contract of
// internal/target/targetcheck. ARCHITECTURE.md,
// "Adding a target", is the checklist for a new one.
package target

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/target/clickhouse"
	"github.com/syncline/syncline/internal/target/mysql"
	"github.com/syncline/syncline/internal/target/postgres"
	"github.com/syncline/syncline/internal/target/targetcheck"
	"github.com/syncline/syncline/internal/target/verifyread"
)

// Options tune the target Open returns.
type Options struct {
	// MaxConns bounds the connections to the target; 0 is the target's
	// default (its package's DefaultMaxConns).
	MaxConns int
	// Logger receives the target's log; slog.Default() when nil.
	Logger *slog.Logger
}

// entry is one target's line in the registry: how to make its writer and
// verify's reader of it (neither does I/O), and how precheck connects to
// it.
type entry struct {
	kind   endpoint.Kind
	sink   func(ep endpoint.Endpoint, opts Options) (apply.Sink, error)
	reader func(ep endpoint.Endpoint, opts Options, timeout time.Duration) verifyread.Reader
	check  func(ctx context.Context, ep endpoint.Endpoint, timeout time.Duration) (targetcheck.Conn, error)
}

// targets lists every target by the URL scheme of its endpoints: one entry
// per target, in the order messages name them.
var targets = []entry{
	{
		kind: endpoint.MySQL,
		sink: func(ep endpoint.Endpoint, o Options) (apply.Sink, error) {
			return mysql.New(ep, mysql.Options{MaxConns: o.MaxConns, Logger: o.Logger})
		},
		reader: func(ep endpoint.Endpoint, _ Options, timeout time.Duration) verifyread.Reader {
			return mysql.NewReader(ep, timeout)
		},
		check: func(ctx context.Context, ep endpoint.Endpoint, timeout time.Duration) (targetcheck.Conn, error) {
			return mysql.Connect(ctx, ep, timeout)
		},
	},
	{
		kind: endpoint.Postgres,
		sink: func(ep endpoint.Endpoint, o Options) (apply.Sink, error) {
			return postgres.New(ep, postgres.Options{MaxConns: o.MaxConns, Logger: o.Logger})
		},
		reader: func(ep endpoint.Endpoint, _ Options, timeout time.Duration) verifyread.Reader {
			return postgres.NewReader(ep, timeout)
		},
		check: func(ctx context.Context, ep endpoint.Endpoint, timeout time.Duration) (targetcheck.Conn, error) {
			return postgres.Connect(ctx, ep, timeout)
		},
	},
	{
		kind: endpoint.ClickHouse,
		sink: func(ep endpoint.Endpoint, o Options) (apply.Sink, error) {
			return clickhouse.New(ep, clickhouse.Options{MaxConns: o.MaxConns, Logger: o.Logger})
		},
		reader: func(ep endpoint.Endpoint, o Options, timeout time.Duration) verifyread.Reader {
			return clickhouse.NewReader(ep, timeout, o.logger())
		},
		check: func(ctx context.Context, ep endpoint.Endpoint, timeout time.Duration) (targetcheck.Conn, error) {
			return clickhouse.Connect(ctx, ep, timeout)
		},
	},
}

// Serves reports whether kind is the URL scheme of a target.
func Serves(kind endpoint.Kind) bool {
	return slices.ContainsFunc(targets, func(e entry) bool { return e.kind == kind })
}

// Schemes names the targets' URL schemes for messages:
// "mysql://, postgres:// or clickhouse://".
func Schemes() string {
	var b strings.Builder
	for i, e := range targets {
		switch {
		case i == len(targets)-1 && i > 0:
			b.WriteString(" or ")
		case i > 0:
			b.WriteString(", ")
		}
		b.WriteString(string(e.kind) + "://")
	}
	return b.String()
}

// Target is one target, opened from its endpoint.
type Target struct {
	ep   endpoint.Endpoint
	opts Options
	entry
}

// Open returns the target ep names, chosen by its URL scheme. It does no
// I/O: connections are made when the target is used. An endpoint of a kind
// no target serves (a source-only scheme) is refused, naming it.
func Open(ep endpoint.Endpoint, opts Options) (*Target, error) {
	i := slices.IndexFunc(targets, func(e entry) bool { return e.kind == ep.Kind })
	if i < 0 {
		return nil, fmt.Errorf("%s is not a target Syncline can write to (%s)", ep.Kind, ep.Redacted())
	}
	return &Target{ep: ep, opts: opts, entry: targets[i]}, nil
}

// Endpoint returns the target's endpoint.
func (t *Target) Endpoint() endpoint.Endpoint { return t.ep }

// Sink returns a new writer of the target, as apply uses it (repairs and
// benchmarks write through it too, exactly as apply writes). The caller
// closes it.
func (t *Target) Sink() (apply.Sink, error) { return t.sink(t.ep, t.opts) }

// Reader returns syncline verify's reader of the target, which reads the
// tables apply writes back into verify's comparison domain; timeout bounds
// its connection. It does no I/O; the caller closes it.
func (t *Target) Reader(timeout time.Duration) verifyread.Reader {
	return t.reader(t.ep, t.opts, timeout)
}

// Precheck connects to the target for syncline precheck, which reads its
// user and version through the connection, checks the user's privileges
// and lists the tables that exist; timeout bounds the connection and each
// check. The caller closes it.
func (t *Target) Precheck(ctx context.Context, timeout time.Duration) (targetcheck.Conn, error) {
	return t.check(ctx, t.ep, timeout)
}

// logger is the Logger, or slog.Default() when nil.
func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.Default()
	}
	return o.Logger
}
