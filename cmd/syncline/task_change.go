package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/source/mysqlvalue"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/task"
)

// taskChanger changes a running task's object list and stops it: the code
// behind syncline task add-tables, remove-tables, update and stop, and
// behind the console's --allow-changes, so that both make the same checks.
type taskChanger struct {
	spec  *task.Spec
	store *task.Store
	// source returns the source to check new object lists against.
	source func() (endpoint.Endpoint, error)
}

// refusedError is a change the checks refused; nothing was changed.
type refusedError struct{ err error }

func (e *refusedError) Error() string { return e.err.Error() + "; nothing was changed" }
func (e *refusedError) Unwrap() error { return e.err }

// errNoTablesLeft refuses a change that leaves the task without tables.
var errNoTablesLeft = errors.New("the task would have no tables left; stop it with syncline task stop instead")

// errNoTables refuses a change that names no table.
var errNoTables = errors.New("give the tables as db.table names")

// badTableError is a table name that is not db.table.
type badTableError struct{ name string }

func (e *badTableError) Error() string {
	return fmt.Sprintf("%q: give tables as db.table names", e.name)
}

// parseTableNames parses exact db.table names.
func parseTableNames(names []string) ([][2]string, error) {
	var out [][2]string
	for _, a := range names {
		db, table, ok := strings.Cut(a, ".")
		if !ok || db == "" || table == "" || strings.ContainsAny(a, "*?[") {
			return nil, &badTableError{name: a}
		}
		out = append(out, [2]string{db, table})
	}
	if len(out) == 0 {
		return nil, errNoTables
	}
	return out, nil
}

// currentObjects returns the task's object list in Kafka, or the spec's
// when the task has not started yet.
func (t *taskChanger) currentObjects(ctx context.Context) (*task.Revision, error) {
	return currentObjects(ctx, t.spec, t.store)
}

// AddTables adds tables to the task once the source has them and capture
// can capture them. It returns what it did, one line per table left alone
// and one for the revision written.
func (t *taskChanger) AddTables(ctx context.Context, names []string) (string, error) {
	tables, err := parseTableNames(names)
	if err != nil {
		return "", err
	}
	rev, err := t.currentObjects(ctx)
	if err != nil {
		return "", err
	}
	sel, err := task.CompileObjects(rev.Objects)
	if err != nil {
		return "", err
	}
	objects := slices.Clone(rev.Objects)
	var added, notes []string
	for _, tb := range tables {
		if sel.Match(tb[0], tb[1]) {
			notes = append(notes, fmt.Sprintf("%s.%s is already in the task (a parked one is re-included with syncline task resync)", tb[0], tb[1]))
			continue
		}
		objects = append(objects, task.Object{Database: tb[0], Tables: []string{tb[1]}})
		added = append(added, tb[0]+"."+tb[1])
	}
	if len(added) == 0 {
		return strings.Join(notes, "\n"), nil
	}
	if err := t.check(ctx, objects, tables); err != nil {
		return "", err
	}
	return t.write(ctx, notes, objects, "add-tables "+strings.Join(added, " "))
}

// RemoveTables stops syncing tables; their target tables stay.
func (t *taskChanger) RemoveTables(ctx context.Context, names []string) (string, error) {
	tables, err := parseTableNames(names)
	if err != nil {
		return "", err
	}
	rev, err := t.currentObjects(ctx)
	if err != nil {
		return "", err
	}
	objects := slices.Clone(rev.Objects)
	var removed, notes []string
	for _, tb := range tables {
		var found bool
		objects, found = withoutTable(objects, tb[0], tb[1])
		if !found {
			notes = append(notes, fmt.Sprintf("%s.%s is not in the task", tb[0], tb[1]))
			continue
		}
		removed = append(removed, tb[0]+"."+tb[1])
	}
	if len(removed) == 0 {
		return strings.Join(notes, "\n"), nil
	}
	return t.write(ctx, notes, objects, "remove-tables "+strings.Join(removed, " "))
}

// Update replaces the object list with the spec's (change names it).
func (t *taskChanger) Update(ctx context.Context, change string) (string, error) {
	if err := t.check(ctx, t.spec.Objects, nil); err != nil {
		return "", err
	}
	return t.write(ctx, nil, t.spec.Objects, change)
}

// Stop asks every component of the task to stop cleanly.
func (t *taskChanger) Stop(ctx context.Context) (string, error) {
	if err := t.store.RequestStop(ctx); err != nil {
		return "", err
	}
	return fmt.Sprintf("stop requested: capture of task %s commits and exits, then each apply drains what it published, commits and exits; start them again to resume", t.spec.Name), nil
}

// write stores a new revision of the object list.
func (t *taskChanger) write(ctx context.Context, notes []string, objects []task.Object, change string) (string, error) {
	if len(objects) == 0 {
		return "", errNoTablesLeft
	}
	rev, err := t.store.Update(ctx, objects, change)
	if err != nil {
		return "", err
	}
	notes = append(notes, fmt.Sprintf("object list revision %d written (%s); running components follow it now", rev.Revision, change))
	return strings.Join(notes, "\n"), nil
}

// check checks a new object list against the live source before it is
// stored, with capture's own check (capture.CheckSelection): the tables
// named must exist, and every table the list selects must have a key,
// supported column types and rules that fit it. A list capture would
// refuse never reaches the running task.
func (t *taskChanger) check(ctx context.Context, objects []task.Object, named [][2]string) error {
	sel, err := task.CompileObjects(objects)
	if err != nil {
		return err
	}
	src, err := t.source()
	if err != nil {
		return err
	}
	conn, err := endpoint.DialMySQL(ctx, src, 10*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	var errs []error
	for _, tb := range named {
		if _, err := mysqlvalue.LoadTable(ctx, conn, tb[0], tb[1]); errors.Is(err, schema.ErrNoTable) {
			errs = append(errs, fmt.Errorf("%s.%s does not exist on the source", tb[0], tb[1]))
		}
	}
	if len(errs) == 0 {
		err := capture.CheckSelection(ctx, conn, sel)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return &refusedError{err: err}
	}
	return nil
}
