// Package targetcheck is the contract between syncline precheck and the
// checks of each target: precheck connects to a target through the
// registry (internal/target), and the target's package
// (internal/target/<kind>/precheck.go) reads its user and version, checks
// that the user may create, alter and write apply's tables, and lists the
// tables that exist already.
//
// It sits below both precheck and the target packages, so that a target
// can implement its checks without importing precheck (which imports the
// registry, which imports the targets).
package targetcheck

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/syncline/syncline/endpoint"
)

// Status is the verdict of a check: precheck reports it as its own.
type Status int

// The verdicts, from best to worst (as precheck's).
const (
	// Pass: ready.
	Pass Status = iota
	// Warn: the task can run, but something deserves attention.
	Warn
	// Fail: the task cannot run.
	Fail
)

// Result is the outcome of one check of one target.
type Result struct {
	Status Status
	// Message says what was found, on one line.
	Message string
	// Fix says what to do about a warning or failure; empty for a pass.
	Fix string
}

// Passf builds a pass.
func Passf(format string, args ...any) Result {
	return Result{Status: Pass, Message: fmt.Sprintf(format, args...)}
}

// Warnf builds a warning with its fix.
func Warnf(fix, format string, args ...any) Result {
	return Result{Status: Warn, Message: fmt.Sprintf(format, args...), Fix: fix}
}

// Failf builds a failure with its fix.
func Failf(fix, format string, args ...any) Result {
	return Result{Status: Fail, Message: fmt.Sprintf(format, args...), Fix: fix}
}

// Conn is an open connection to one target, for precheck.
type Conn interface {
	// User names the connected user as the target's GRANT statements name
	// it ('user'@'host' on MySQL, the user name elsewhere).
	User() string
	// Version names the server: "PostgreSQL 16.1", "ClickHouse 18.16.1".
	Version() string
	// Privileges checks that the user may create, alter and write the
	// tables of dbs (the source databases, which apply keeps as MySQL and
	// ClickHouse databases or PostgreSQL schemas). ok is false when there
	// is nothing to check (a target that checks by its grants, with no
	// dbs).
	Privileges(ctx context.Context, dbs []string) (res Result, ok bool)
	// ExistingTables returns the tables of dbs that exist in the target,
	// as db.table.
	ExistingTables(ctx context.Context, dbs []string) (map[string]bool, error)
	// Close closes the connection.
	Close()
}

// Label names a target in messages without its password:
// "postgres at 127.0.0.1:5432/db".
func Label(e endpoint.Endpoint) string {
	s := fmt.Sprintf("%s at %s", e.Kind, e.Addr())
	if e.Database != "" {
		s += "/" + e.Database
	}
	return s
}

// ListNames joins names, cutting the list after limit entries.
func ListNames(names []string, limit int) string {
	if len(names) <= limit {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:limit], ", ") + fmt.Sprintf(" and %d more", len(names)-limit)
}

// OneLine folds line breaks so that a message stays on one line.
func OneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// InList renders strings as a list of SQL string literals for MySQL and
// ClickHouse.
func InList(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
	}
	return strings.Join(quoted, ", ")
}

// RandomSuffix returns 8 random hex characters for scratch names.
func RandomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
