package mysqlvalue

import (
	"context"
	"errors"
	"fmt"
	"github.com/syncline/syncline/schema"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"
)

const columnsQuery = `SELECT COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, IS_NULLABLE, CHARACTER_SET_NAME
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
ORDER BY ORDINAL_POSITION`

// The server lists the indexes of a table in its key order (primary key,
// then unique keys on NOT NULL columns, ...), which is the order that decides
// the "first" unique key; so no ORDER BY on the index name.
const keysQuery = `SELECT INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`

// LoadTable reads the current shape of db.table from information_schema:
// columns in ordinal order with their types, nullability and charsets, and
// the key: the primary key, else the first UNIQUE key (in the server's key
// order) whose columns are all NOT NULL and not prefixes, which is the key the
// server itself promotes to primary key.
//
// A missing table gives an error wrapping ErrNoTable; a table without such a
// key one wrapping ErrNoKey (and the Table, complete except for its Key); an
// unsupported column type one wrapping ErrUnsupportedType. A table dropped
// or renamed away while it is read is missing, never keyless: the columns
// are read again before ErrNoKey is returned.
//
// MariaDB's JSON is LONGTEXT (with a json_valid CHECK) and is loaded as
// longtext, as its binlog shows it; MySQL's json is JSON.
//
// The queries run on conn in turn (values are passed as arguments). If ctx
// ends while one runs, it is interrupted by setting conn's read deadline to
// the past: the connection is unusable afterwards and must be closed.
func LoadTable(ctx context.Context, conn *client.Conn, db, table string) (schema.Table, error) {
	t := schema.Table{Database: db, Name: table}
	var cols *mysql.Result
	err := withContext(ctx, conn, func() error {
		var err error
		cols, err = conn.Execute(columnsQuery, db, table)
		return err
	})
	if err != nil {
		return schema.Table{}, fmt.Errorf("load columns of %s: %w", t.QualifiedName(), err)
	}
	defer cols.Close()
	rs := cols.Resultset
	if rs == nil || rs.RowNumber() == 0 {
		return schema.Table{}, fmt.Errorf("load %s: %w", t.QualifiedName(), schema.ErrNoTable)
	}
	t.Columns = make([]schema.Column, rs.RowNumber())
	for r := range rs.RowNumber() {
		name, err := rs.GetString(r, 0)
		if err != nil {
			return schema.Table{}, fmt.Errorf("load columns of %s: %w", t.QualifiedName(), err)
		}
		name = strings.Clone(name)
		colType, _ := rs.GetString(r, 1)
		nullable, _ := rs.GetString(r, 3)
		charset, _ := rs.GetString(r, 4)
		typ, err := schema.ParseType(colType)
		if err != nil {
			return schema.Table{}, t.ColumnError(name, err)
		}
		if typ.Kind.IsText() || typ.Kind == schema.Enum || typ.Kind == schema.Set {
			typ.Charset = schema.NormalizeCharset(charset)
			if typ.Charset == "" {
				return schema.Table{}, t.ColumnError(name, errors.New("no character set in information_schema"))
			}
		}
		t.Columns[r] = schema.Column{Name: name, Type: typ, Nullable: strings.EqualFold(nullable, "YES")}
	}

	var keys *mysql.Result
	err = withContext(ctx, conn, func() error {
		var err error
		keys, err = conn.Execute(keysQuery, db, table)
		return err
	})
	if err != nil {
		return schema.Table{}, fmt.Errorf("load keys of %s: %w", t.QualifiedName(), err)
	}
	defer keys.Close()
	key, err := chooseKey(t, keys.Resultset)
	if errors.Is(err, schema.ErrNoKey) {
		// The two queries are not atomic: a table dropped (or renamed
		// away) between them has columns but no indexes. Such a table is
		// gone, not keyless.
		if gone, gErr := tableGone(ctx, conn, db, table); gErr != nil {
			return schema.Table{}, fmt.Errorf("load %s: %w", t.QualifiedName(), gErr)
		} else if gone {
			return schema.Table{}, fmt.Errorf("load %s: %w", t.QualifiedName(), schema.ErrNoTable)
		}
	}
	if err != nil {
		return t, err
	}
	t.Key = key
	return t, nil
}

// tableGone reports whether db.table has no columns in information_schema
// any more.
func tableGone(ctx context.Context, conn *client.Conn, db, table string) (bool, error) {
	var res *mysql.Result
	err := withContext(ctx, conn, func() error {
		var err error
		res, err = conn.Execute(columnsQuery, db, table)
		return err
	})
	if err != nil {
		return false, err
	}
	defer res.Close()
	return res.Resultset == nil || res.Resultset.RowNumber() == 0, nil
}

// chooseKey picks the primary key, else the first unique key whose columns
// are all NOT NULL and whole (no prefix), from the rows of keysQuery.
func chooseKey(t schema.Table, rs *mysql.Resultset) ([]string, error) {
	type index struct {
		name   string
		unique bool
		usable bool
		cols   map[int]string
	}
	var order []*index
	byName := map[string]*index{}
	if rs != nil {
		for r := range rs.RowNumber() {
			name, err := rs.GetString(r, 0)
			if err != nil {
				return nil, fmt.Errorf("load keys of %s: %w", t.QualifiedName(), err)
			}
			nonUnique, _ := rs.GetInt(r, 1)
			seq, _ := rs.GetInt(r, 2)
			col, _ := rs.GetString(r, 3)
			subPartNull, _ := rs.IsNull(r, 4)
			ix := byName[name]
			if ix == nil {
				ix = &index{name: strings.Clone(name), unique: nonUnique == 0, usable: true, cols: map[int]string{}}
				byName[ix.name] = ix
				order = append(order, ix)
			}
			c, _, ok := t.Column(col)
			if !ok || c.Nullable || !subPartNull {
				ix.usable = false
			}
			if ok {
				ix.cols[int(seq)] = c.Name
			}
		}
	}
	pick := func(ix *index) []string {
		key := make([]string, len(ix.cols))
		for i := range key {
			key[i] = ix.cols[i+1]
		}
		return key
	}
	if ix := byName["PRIMARY"]; ix != nil {
		return pick(ix), nil
	}
	for _, ix := range order {
		if ix.unique && ix.usable {
			return pick(ix), nil
		}
	}
	return nil, fmt.Errorf("load %s: %w", t.QualifiedName(), schema.ErrNoKey)
}

// withContext runs f, interrupting conn's reads if ctx ends first.
func withContext(ctx context.Context, conn *client.Conn, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	err := f()
	if !stop() {
		if err != nil {
			return errors.Join(ctx.Err(), err)
		}
		return ctx.Err()
	}
	return err
}
