package rules

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/pingcap/tidb/pkg/parser/test_driver" // literal values of the parsed condition
)

// ErrBadFilter is wrapped by every error about a row filter that cannot be
// used: a syntax error, an unsupported construct, or (from Bind) a
// comparison that makes no sense for the table's column types.
var ErrBadFilter = errors.New("bad row filter")

// ErrUnknownColumn is wrapped by Bind's error when the filter names a column
// the table does not have.
var ErrUnknownColumn = errors.New("unknown column")

// Expr is a parsed row filter: a MySQL WHERE-clause condition. It is
// immutable and safe for concurrent use.
type Expr struct {
	src  string
	root ast.ExprNode
	cols []string
}

// The statement a condition is parsed in. The condition goes in parentheses
// on a line of its own, so that a comment at its end cannot swallow the
// closing parenthesis, and error positions keep the condition's own columns
// (its line numbers are off by the one line of the prefix).
const (
	stmtPrefix = "SELECT 1 FROM t WHERE (\n"
	stmtSuffix = "\n)"
)

// ParseExpr parses a MySQL WHERE-clause condition, for example
//
//	status <> 'test' AND total >= 10.5 AND region IN ('eu','us') AND deleted_at IS NULL
//
// Errors wrap ErrBadFilter and say what is wrong: a syntax error with its
// line and column, input that is more than one condition (a second
// statement, ORDER BY, LIMIT, ...), or an unsupported construct by name
// (subqueries, non-deterministic functions such as NOW() and RAND(), user and
// system variables, aggregate functions, functions this package does not
// evaluate). Whether the condition's types fit a table is checked by Bind.
func ParseExpr(src string) (*Expr, error) {
	if strings.TrimSpace(src) == "" {
		return nil, fmt.Errorf("%w %q: empty condition", ErrBadFilter, src)
	}
	p := parser.New()
	stmts, _, err := p.Parse(stmtPrefix+src+stmtSuffix, "", "")
	if err != nil {
		if m := unknownName.FindStringSubmatch(err.Error()); m != nil {
			if strings.EqualFold(m[1], "collation") {
				return nil, fmt.Errorf("%w %q: collation %s is not supported (supported: %s)", ErrBadFilter, src, m[2], supportedCollations())
			}
			return nil, fmt.Errorf("%w %q: unknown %s %s", ErrBadFilter, src, strings.ToLower(m[1]), m[2])
		}
		return nil, fmt.Errorf("%w %q: %s", ErrBadFilter, src, syntaxError(err, src))
	}
	if len(stmts) != 1 {
		return nil, fmt.Errorf("%w %q: must be one condition, not %d statements", ErrBadFilter, src, len(stmts))
	}
	sel, ok := stmts[0].(*ast.SelectStmt)
	if !ok {
		return nil, fmt.Errorf("%w %q: must be one condition", ErrBadFilter, src)
	}
	if extra := extraClause(sel); extra != "" {
		return nil, fmt.Errorf("%w %q: must be a condition only, not a condition followed by %s", ErrBadFilter, src, extra)
	}
	// The wrapping parentheses must enclose the whole condition: "a) OR (b"
	// parses, but as two parenthesized halves.
	paren, ok := sel.Where.(*ast.ParenthesesExpr)
	if !ok {
		return nil, fmt.Errorf("%w %q: unbalanced parentheses", ErrBadFilter, src)
	}
	e := &Expr{src: src, root: paren.Expr}
	cols := map[string]bool{}
	if err := check(paren.Expr, cols); err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrBadFilter, src, err)
	}
	for c := range cols {
		e.cols = append(e.cols, c)
	}
	slices.SortFunc(e.cols, func(a, b string) int {
		if c := strings.Compare(strings.ToLower(a), strings.ToLower(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return e, nil
}

// String returns the condition's source text as given to ParseExpr.
func (e *Expr) String() string { return e.src }

// Columns returns the names of the columns the condition references, sorted
// and unique. Names that differ only in case are the same column (as in
// MySQL); the first spelling is kept.
func (e *Expr) Columns() []string { return slices.Clone(e.cols) }

// unknownName finds the parser's errors about unknown collations and
// character sets.
var unknownName = regexp.MustCompile(`Unknown (collation|character set): '([^']*)'`)

// syntaxPos finds the position in the parser's syntax errors.
var syntaxPos = regexp.MustCompile(`(?s)line (\d+) column (\d+) near "(.*)"\s*$`)

// syntaxError describes a parse error of the wrapped statement in terms of
// the condition src: its line and column in src and the text there.
func syntaxError(err error, src string) string {
	m := syntaxPos.FindStringSubmatch(err.Error())
	if m == nil {
		return "syntax error: " + err.Error()
	}
	line, _ := strconv.Atoi(m[1])
	col, _ := strconv.Atoi(m[2])
	line-- // the prefix line
	near := strings.TrimSuffix(m[3], stmtSuffix)
	if len(m[3]) <= len(stmtSuffix) || strings.TrimSpace(near) == "" {
		return "syntax error at the end of the condition (incomplete?)"
	}
	if stmt := stmtPrefix + src + stmtSuffix; strings.HasSuffix(stmt, m[3]) {
		// The parser's "near" text is the rest of the statement: its
		// start is the error's position in src.
		at := len(src) - len(near)
		if at < 0 {
			return "syntax error: " + err.Error()
		}
		line = strings.Count(src[:at], "\n") + 1
		col = utf8.RuneCountInString(src[strings.LastIndexByte(src[:at], '\n')+1:at]) + 1
	}
	if near == "" {
		return fmt.Sprintf("syntax error at line %d column %d", line, col)
	}
	if len(near) > 40 {
		near = near[:40] + "..."
	}
	return fmt.Sprintf("syntax error at line %d column %d near %q", line, col, near)
}

// extraClause names a clause of sel beyond its WHERE, which a condition
// cannot have brought in through closing parentheses.
func extraClause(sel *ast.SelectStmt) string {
	switch {
	case sel.GroupBy != nil:
		return "GROUP BY"
	case sel.Having != nil:
		return "HAVING"
	case sel.WindowSpecs != nil:
		return "WINDOW"
	case sel.OrderBy != nil:
		return "ORDER BY"
	case sel.Limit != nil:
		return "LIMIT"
	case sel.LockInfo != nil:
		return "a locking clause"
	case sel.SelectIntoOpt != nil:
		return "INTO"
	case sel.Where == nil:
		return "a missing WHERE"
	}
	return ""
}

// nonDeterministic lists the functions whose value is not a function of the
// row (time, randomness, session and server state).
var nonDeterministic = map[string]bool{
	"now": true, "current_timestamp": true, "localtime": true, "localtimestamp": true,
	"sysdate": true, "curdate": true, "current_date": true, "curtime": true, "current_time": true,
	"utc_date": true, "utc_time": true, "utc_timestamp": true, "unix_timestamp": true,
	"rand": true, "uuid": true, "uuid_short": true, "sys_guid": true, "random_bytes": true,
	"connection_id": true, "user": true, "current_user": true, "session_user": true,
	"system_user": true, "current_role": true, "database": true, "schema": true,
	"last_insert_id": true, "row_count": true, "found_rows": true, "version": true,
	"sleep": true, "benchmark": true, "get_lock": true, "release_lock": true,
	"is_free_lock": true, "is_used_lock": true, "nextval": true, "lastval": true,
	"setval": true, "master_pos_wait": true, "load_file": true,
}

// check walks a parsed condition, rejecting the constructs Bind cannot
// compile whatever the table, and collects the column names.
func check(n ast.ExprNode, cols map[string]bool) error {
	var err error
	walkChildren := func(children ...ast.ExprNode) {
		for _, c := range children {
			if err == nil && c != nil {
				err = check(c, cols)
			}
		}
	}
	switch n := n.(type) {
	case *test_driver.ValueExpr:
		return nil
	case *ast.ColumnNameExpr:
		if n.Name.Schema.O != "" || n.Name.Table.O != "" {
			return fmt.Errorf("qualified column name %s: use the bare column name", n.Name.String())
		}
		name := n.Name.Name.O
		for c := range cols {
			if strings.EqualFold(c, name) {
				return nil
			}
		}
		cols[name] = true
		return nil
	case *ast.ParenthesesExpr:
		walkChildren(n.Expr)
	case *ast.BinaryOperationExpr:
		if _, ok := binaryOps[n.Op]; !ok {
			return fmt.Errorf("operator %s is not supported", opName(n.Op))
		}
		walkChildren(n.L, n.R)
	case *ast.UnaryOperationExpr:
		switch n.Op {
		case opcode.Not, opcode.Not2, opcode.Minus, opcode.Plus:
		default:
			return fmt.Errorf("operator %s is not supported", opName(n.Op))
		}
		walkChildren(n.V)
	case *ast.IsNullExpr:
		walkChildren(n.Expr)
	case *ast.IsTruthExpr:
		walkChildren(n.Expr)
	case *ast.BetweenExpr:
		walkChildren(n.Expr, n.Left, n.Right)
	case *ast.PatternInExpr:
		if n.Sel != nil {
			return errors.New("subqueries are not supported")
		}
		walkChildren(n.Expr)
		walkChildren(n.List...)
	case *ast.PatternLikeOrIlikeExpr:
		if !n.IsLike {
			return errors.New("ILIKE is not supported (LIKE follows the column's collation)")
		}
		walkChildren(n.Expr, n.Pattern)
	case *ast.SetCollationExpr:
		if _, ok := collationByName(n.Collate); !ok {
			return fmt.Errorf("collation %s is not supported (supported: %s)", n.Collate, supportedCollations())
		}
		walkChildren(n.Expr)
	case *ast.FuncCallExpr:
		name := n.FnName.L
		if f, ok := functions[name]; ok {
			if len(n.Args) < f.minArgs || (f.maxArgs >= 0 && len(n.Args) > f.maxArgs) {
				return fmt.Errorf("%s() takes %s, not %d", f.display, f.arity(), len(n.Args))
			}
			walkChildren(n.Args...)
			return err
		}
		if nonDeterministic[name] {
			return fmt.Errorf("non-deterministic function %s() is not allowed", strings.ToUpper(n.FnName.O))
		}
		return fmt.Errorf("function %s() is not supported (supported: %s)", strings.ToUpper(n.FnName.O), supportedFunctions())
	case *ast.SubqueryExpr, *ast.ExistsSubqueryExpr, *ast.CompareSubqueryExpr:
		return errors.New("subqueries are not supported")
	case *ast.VariableExpr:
		if n.IsSystem {
			return fmt.Errorf("system variable @@%s is not allowed", n.Name)
		}
		return fmt.Errorf("user variable @%s is not allowed", n.Name)
	case *ast.AggregateFuncExpr:
		return fmt.Errorf("aggregate function %s() is not allowed", strings.ToUpper(n.F))
	case *ast.WindowFuncExpr:
		return fmt.Errorf("window function %s() is not allowed", strings.ToUpper(n.Name))
	case ast.ParamMarkerExpr:
		return errors.New("parameter markers (?) are not allowed")
	case *ast.FuncCastExpr:
		return errors.New("CAST and CONVERT are not supported")
	case *ast.CaseExpr:
		return errors.New("CASE is not supported")
	case *ast.PatternRegexpExpr:
		return errors.New("REGEXP is not supported")
	case *ast.RowExpr:
		return errors.New("row constructors are not supported")
	case *ast.DefaultExpr:
		return errors.New("DEFAULT is not allowed")
	default:
		return fmt.Errorf("unsupported construct %s", describeNode(n))
	}
	return err
}

// binaryOps maps the supported binary operators to their SQL spelling.
var binaryOps = map[opcode.Op]string{
	opcode.LogicAnd: "AND", opcode.LogicOr: "OR", opcode.LogicXor: "XOR",
	opcode.EQ: "=", opcode.NE: "<>", opcode.LT: "<", opcode.LE: "<=", opcode.GT: ">", opcode.GE: ">=",
	opcode.NullEQ: "<=>",
	opcode.Plus:   "+", opcode.Minus: "-", opcode.Mul: "*", opcode.Div: "/", opcode.IntDiv: "DIV", opcode.Mod: "%",
}

// opName returns the SQL spelling of an operator for error messages.
func opName(op opcode.Op) string {
	if s, ok := binaryOps[op]; ok {
		return s
	}
	var b strings.Builder
	op.Format(&b)
	return b.String()
}

// describeNode names an AST node kind for error messages: "*ast.TimeUnitExpr"
// becomes "time unit expression".
func describeNode(n ast.Node) string {
	name := fmt.Sprintf("%T", n)
	name = name[strings.LastIndexByte(name, '.')+1:]
	name = strings.TrimSuffix(name, "Expr")
	var b strings.Builder
	for i, r := range name {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte(' ')
		}
		b.WriteRune(r | 0x20)
	}
	return b.String() + " expression"
}
