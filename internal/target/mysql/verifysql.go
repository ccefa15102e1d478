package mysql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/syncline/syncline/internal/target/verifyread"
	"github.com/syncline/syncline/schema"
)

// The SQL that syncline verify reads MySQL/MariaDB with: this target's
// reader (verify.go), and verify's reader of the source, which is MySQL or
// MariaDB too and is compared chunk by chunk with the same key ranges and
// checksums. Identifiers are quoted with schema.QuoteIdent; values are
// always parameters of prepared statements (the binary protocol, whose
// string parameters take the column's collation, so key look-ups use the
// index), converted as Write binds them.

// KeyExprs returns the expressions that order and compare the key
// columns: the quoted column, except ENUM and SET, which MySQL sorts by
// index but compares with a string by label; they are compared as text.
func KeyExprs(names []string, cols []schema.Column) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = schema.QuoteIdent(n)
		if k := cols[i].Type.Kind; k == schema.Enum || k == schema.Set {
			out[i] = "CAST(" + out[i] + " AS CHAR)"
		}
	}
	return out
}

// placeholderRow returns n "?" as a row constructor (or one "?").
func placeholderRow(n int) string {
	return verifyread.Tuple(strings.Split(strings.Repeat("?", n), ""))
}

// keyParams converts key values (comparison domain) into parameters.
func keyParams(keys []any, cols []schema.Column) ([]any, error) {
	out := make([]any, len(keys))
	for i, v := range keys {
		p, err := arg(verifyread.ToChange(v, cols[i].Type), cols[i].Type)
		if err != nil {
			return nil, fmt.Errorf("key column %s: %w", cols[i].Name, err)
		}
		out[i] = p
	}
	return out, nil
}

// RangeCond returns the condition lo < key <= hi (a nil bound is open) and
// its parameters, or "" when both are open.
func RangeCond(exprs []string, cols []schema.Column, lo, hi []any) (string, []any, error) {
	var conds []string
	var args []any
	for _, b := range []struct {
		vals []any
		op   string
	}{{lo, " > "}, {hi, " <= "}} {
		if b.vals == nil {
			continue
		}
		ps, err := keyParams(b.vals, cols)
		if err != nil {
			return "", nil, err
		}
		conds = append(conds, verifyread.Tuple(exprs)+b.op+placeholderRow(len(exprs)))
		args = append(args, ps...)
	}
	return strings.Join(conds, " AND "), args, nil
}

// InCond returns the condition key IN (the given keys) and its
// parameters.
func InCond(names []string, cols []schema.Column, keys [][]any) (string, []any, error) {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = schema.QuoteIdent(n)
	}
	list := make([]string, len(keys))
	args := make([]any, 0, len(keys)*len(names))
	for i, k := range keys {
		ps, err := keyParams(k, cols)
		if err != nil {
			return "", nil, err
		}
		args = append(args, ps...)
		list[i] = placeholderRow(len(names))
	}
	return verifyread.Tuple(quoted) + " IN (" + strings.Join(list, ", ") + ")", args, nil
}

// Select streams the rows of a prepared query to fn. If ctx ends, the
// connection's reads are interrupted (it is unusable afterwards).
func Select(ctx context.Context, conn *client.Conn, query string, args []any, fn func(row []mysql.FieldValue) error) error {
	return withDeadline(ctx, conn, func() error {
		st, err := conn.Prepare(query)
		if err != nil {
			return err
		}
		defer st.Close()
		var res mysql.Result
		return st.ExecuteSelectStreaming(&res, fn, nil, args...)
	})
}

// Exec runs a statement without parameters over the text protocol.
func Exec(ctx context.Context, conn *client.Conn, query string) (*mysql.Result, error) {
	var res *mysql.Result
	err := withDeadline(ctx, conn, func() error {
		var err error
		res, err = conn.Execute(query)
		return err
	})
	return res, err
}

// withDeadline runs f, interrupting conn's reads if ctx ends first.
func withDeadline(ctx context.Context, conn *client.Conn, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	err := f()
	if !stop() {
		return errors.Join(ctx.Err(), err)
	}
	return err
}

// IsServerError reports whether err was answered by the server, which
// leaves the connection usable.
func IsServerError(err error) bool {
	var me *mysql.MyError
	return errors.As(err, &me)
}

// checksumColumn is the text of one column in a chunk checksum: the
// same on two servers for the same value, whatever the column's character
// set (text as the hex of its UTF-8 bytes) and without the separator.
func checksumColumn(name string, t schema.Type) string {
	q := schema.QuoteIdent(name)
	switch k := t.Kind; {
	case k.IsString():
		return "HEX(CONVERT(" + q + " USING utf8mb4))"
	case k.IsBinary():
		return "HEX(" + q + ")"
	case k.IsGeometry():
		return "HEX(ST_AsBinary(" + q + "))"
	case k == schema.Bit:
		return "CAST(" + q + " AS UNSIGNED)"
	}
	return q
}

// ChecksumSQL returns the query of a chunk checksum: the row count
// and the XOR of each row's MD5 (two 64-bit halves), over the rows of cond.
func ChecksumSQL(db, table string, names []string, types []schema.Type, cond string) string {
	exprs := make([]string, len(names))
	nulls := make([]string, len(names))
	for i, n := range names {
		exprs[i] = checksumColumn(n, types[i])
		nulls[i] = "ISNULL(" + schema.QuoteIdent(n) + ")"
	}
	h := "MD5(CONCAT_WS('#', " + strings.Join(exprs, ", ") + ", CONCAT(" + strings.Join(nulls, ", ") + ")))"
	q := "SELECT COUNT(*), COALESCE(BIT_XOR(CAST(CONV(SUBSTRING(h, 1, 16), 16, 10) AS UNSIGNED)), 0), " +
		"COALESCE(BIT_XOR(CAST(CONV(SUBSTRING(h, 17, 16), 16, 10) AS UNSIGNED)), 0) FROM (SELECT " + h + " AS h FROM " +
		schema.QuoteIdent(db) + "." + schema.QuoteIdent(table)
	if cond != "" {
		q += " WHERE " + cond
	}
	return q + ") AS _syncline_chunk"
}

// Checksum runs a checksum query.
func Checksum(ctx context.Context, conn *client.Conn, query string, args []any) (verifyread.Sum, error) {
	var s verifyread.Sum
	err := Select(ctx, conn, query, args, func(row []mysql.FieldValue) error {
		vals := make([]uint64, 3)
		for i := range vals {
			switch row[i].Type {
			case mysql.FieldValueTypeUnsigned:
				vals[i] = row[i].AsUint64()
			case mysql.FieldValueTypeSigned:
				vals[i] = uint64(row[i].AsInt64())
			case mysql.FieldValueTypeString:
				if _, err := fmt.Sscan(string(row[i].AsString()), &vals[i]); err != nil {
					return fmt.Errorf("checksum column %d: %w", i, err)
				}
			}
		}
		s = verifyread.Sum{Rows: int64(vals[0]), H1: vals[1], H2: vals[2]}
		return nil
	})
	return s, err
}
