package rules

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/syncline/syncline/schema"
)

// Filter is an Expr bound to a table shape: a compiled condition that
// evaluates rows without parsing or type dispatch. It is immutable and safe
// for concurrent use.
type Filter struct {
	src  string
	cond condFn
}

// Match evaluates the condition on a row whose values are in the column
// order Bind was given, with the Go types listed in apply.Change's
// documentation (schema's row values, where DATETIME is int64 microseconds,
// are accepted too). A missing trailing value is NULL, as is a value whose Go
// type the column cannot hold. NULL (unknown) counts as false, as in WHERE.
// The row is only read, and must not change during the call.
func (f *Filter) Match(row []any) bool { return f.cond(row, nil) == yes }

// MatchMap evaluates the condition on a row keyed by true column name, as
// apply.Change.Row holds it; a missing column is NULL.
func (f *Filter) MatchMap(row map[string]any) bool {
	if row == nil {
		return f.cond(nil, nil) == yes
	}
	return f.cond(nil, row) == yes
}

// String returns the condition's source text.
func (f *Filter) String() string { return f.src }

// evalFn computes a node's value for a row given either as a slice in
// column order or, when m is not nil, as a map by column name.
type evalFn func(row []any, m map[string]any) val

// condFn computes a condition's truth for a row (see evalFn).
type condFn func(row []any, m map[string]any) tri

// class is the static type of an expression.
type class uint8

const (
	cNull     class = iota + 1 // the NULL literal, and expressions of it
	cInt                       // integers (BIGINT UNSIGNED values may be decimals)
	cDec                       // exact decimals
	cFloat                     // doubles
	cStr                       // text in a collation
	cBin                       // binary strings
	cHex                       // hexadecimal and bit literals: a binary string, or an unsigned number
	cDate                      // DATE
	cDateTime                  // DATETIME, TIMESTAMP
	cTime                      // TIME
	cOther                     // JSON, geometry: only IS NULL applies
)

// stype is the static type of an expression.
type stype struct {
	c        class
	coll     *collation // cStr
	coerc    int        // cStr: collation coercibility, 0 (COLLATE) .. 4 (literal)
	charset  string     // cStr: the charset text is stored in (for LENGTH)
	scale    int        // cDec: fractional digits; cDateTime, cTime: fractional second digits
	round    bool       // cDec: computed through a division, rounded to scale when used
	unsigned bool       // cInt: UNSIGNED (so is arithmetic involving it)
	labels   []string   // cStr of ENUM or SET: the labels, for the numeric value
	set      bool       // labels are SET's
}

func (t stype) numeric() bool  { return t.c == cInt || t.c == cDec || t.c == cFloat }
func (t stype) temporal() bool { return t.c == cDate || t.c == cDateTime }

// node is one compiled expression.
type node struct {
	t     stype
	eval  evalFn
	cond  condFn         // set for conditions (comparisons, logic)
	konst bool           // eval gives the same value for every row
	text  string         // the expression's SQL, for messages
	col   *schema.Column // set for a bare column reference
}

// constNode returns a node of type t that always has value v.
func constNode(t stype, v val, text string) *node {
	return &node{t: t, eval: func([]any, map[string]any) val { return v }, konst: true, text: text}
}

// value returns a constant node's value.
func (n *node) value() val { return n.eval(nil, nil) }

// condNode returns a condition node from its truth function, folding it to
// a constant when all of its operands are.
func condNode(cond condFn, text string, operands ...*node) *node {
	n := &node{t: stype{c: cInt}, cond: cond, text: text}
	n.eval = func(row []any, m map[string]any) val { return cond(row, m).val() }
	if allConst(operands) {
		t := cond(nil, nil)
		n.cond = func([]any, map[string]any) tri { return t }
		n.eval = func([]any, map[string]any) val { return t.val() }
		n.konst = true
	}
	return n
}

// fold makes a node constant when all of its operands are.
func fold(n *node, operands ...*node) *node {
	if allConst(operands) {
		return constNode(n.t, n.value(), n.text)
	}
	return n
}

func allConst(ns []*node) bool {
	for _, n := range ns {
		if !n.konst {
			return false
		}
	}
	return true
}

// describe names an expression in messages: a column with its type, or
// the expression's SQL.
func (n *node) describe() string {
	if n.col != nil {
		return fmt.Sprintf("column %s (%s)", n.col.Name, n.col.Type)
	}
	return n.text
}

// Bind resolves the expression against a table's columns (in the table's
// column order) and compiles it for Match and MatchMap. Column names are
// matched case-insensitively, as MySQL does.
//
// An unknown column is an error wrapping ErrUnknownColumn that names it.
// Comparisons that MySQL would reject, or that would silently mean
// something else than they seem to, are errors wrapping ErrBadFilter: a date
// or time compared with a number or with a string that is not a valid date
// or time, a number compared with a string literal that is not a number,
// arithmetic on dates, strings or JSON used as conditions, and the like.
func (e *Expr) Bind(cols []schema.Column) (*Filter, error) {
	b := &binder{cols: cols}
	n, err := b.compile(e.root)
	if err == nil {
		var cond condFn
		if cond, err = n.truth(); err == nil {
			return &Filter{src: e.src, cond: cond}, nil
		}
	}
	if errors.Is(err, ErrUnknownColumn) {
		return nil, fmt.Errorf("row filter %q: %w", e.src, err)
	}
	return nil, fmt.Errorf("%w %q: %w", ErrBadFilter, e.src, err)
}

// binder compiles an AST against a table's columns.
type binder struct {
	cols []schema.Column
}

func (b *binder) compile(n ast.ExprNode) (*node, error) {
	switch n := n.(type) {
	case *test_driver.ValueExpr:
		return literal(n)
	case *ast.ColumnNameExpr:
		return b.column(n.Name.Name.O)
	case *ast.ParenthesesExpr:
		return b.compile(n.Expr)
	case *ast.BinaryOperationExpr:
		return b.binary(n)
	case *ast.UnaryOperationExpr:
		return b.unary(n)
	case *ast.IsNullExpr:
		return b.isNull(n)
	case *ast.IsTruthExpr:
		return b.isTruth(n)
	case *ast.BetweenExpr:
		return b.between(n)
	case *ast.PatternInExpr:
		return b.in(n)
	case *ast.PatternLikeOrIlikeExpr:
		return b.like(n)
	case *ast.SetCollationExpr:
		return b.collate(n)
	case *ast.FuncCallExpr:
		return b.call(n)
	}
	// ParseExpr's check rejects everything else.
	return nil, fmt.Errorf("unsupported construct %s", describeNode(n))
}

// restore returns the SQL of an AST node, for messages.
func restore(n ast.Node) string {
	var sb strings.Builder
	if err := n.Restore(format.NewRestoreCtx(format.DefaultRestoreFlags&^format.RestoreNameBackQuotes|format.RestoreStringWithoutCharset, &sb)); err != nil {
		return "expression"
	}
	return sb.String()
}

// literal compiles a literal value.
func literal(v *test_driver.ValueExpr) (*node, error) {
	text := restore(v)
	switch v.Kind() {
	case test_driver.KindNull:
		return constNode(stype{c: cNull}, null, "NULL"), nil
	case test_driver.KindInt64:
		return constNode(stype{c: cInt}, intVal(v.GetInt64()), text), nil
	case test_driver.KindUint64:
		return constNode(stype{c: cInt, unsigned: true}, uintVal(v.GetUint64()), text), nil
	case test_driver.KindFloat32, test_driver.KindFloat64:
		return constNode(stype{c: cFloat}, floatVal(v.GetFloat64()), text), nil
	case test_driver.KindMysqlDecimal:
		s := v.GetMysqlDecimal().String()
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			return nil, fmt.Errorf("bad decimal literal %s", s)
		}
		scale := 0
		if _, frac, ok := strings.Cut(s, "."); ok {
			scale = len(frac)
		}
		return constNode(stype{c: cDec, scale: scale}, exactNormal(r), text), nil
	case test_driver.KindString:
		cs := v.Type.GetCharset()
		if cs == "binary" {
			return constNode(stype{c: cBin}, binVal(v.GetString()), text), nil
		}
		switch cs {
		case "":
			cs = "utf8mb4"
		case "utf8": // N'...'
			cs = "utf8mb3"
		}
		return constNode(stype{c: cStr, coll: defaultCollation(cs), coerc: 4, charset: cs}, strVal(v.GetString()), text), nil
	case test_driver.KindBytes:
		return constNode(stype{c: cBin}, binVal(string(v.GetBytes())), text), nil
	case test_driver.KindBinaryLiteral:
		return constNode(stype{c: cHex}, binVal(string(v.GetBinaryLiteral())), text), nil
	}
	return nil, fmt.Errorf("unsupported literal %s", text)
}

// column compiles a column reference.
func (b *binder) column(name string) (*node, error) {
	idx := -1
	for i, c := range b.cols {
		if c.Name == name {
			idx = i
			break
		}
	}
	if idx < 0 {
		for i, c := range b.cols {
			if strings.EqualFold(c.Name, name) {
				idx = i
				break
			}
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("%w %q", ErrUnknownColumn, name)
	}
	c := &b.cols[idx]
	read := readerFor(*c)
	key := c.Name
	n := &node{t: columnType(*c), col: c, text: c.Name}
	n.eval = func(row []any, m map[string]any) val {
		var v any
		if m != nil {
			v = m[key]
		} else if idx < len(row) {
			v = row[idx]
		}
		if v == nil {
			return null
		}
		return read(v)
	}
	return n, nil
}

// columnType returns the static type of a column.
func columnType(c schema.Column) stype {
	t := c.Type
	switch k := t.Kind; {
	case k.IsInteger(), k == schema.Year, k == schema.Bit:
		return stype{c: cInt, unsigned: t.Unsigned || k == schema.Year || k == schema.Bit}
	case k == schema.Decimal:
		return stype{c: cDec, scale: t.Scale}
	case k == schema.Float, k == schema.Double:
		return stype{c: cFloat}
	case k.IsText(), k == schema.Enum, k == schema.Set:
		st := stype{c: cStr, coll: defaultCollation(t.Charset), coerc: 2, charset: t.Charset}
		if st.charset == "" {
			st.charset = "utf8mb4"
		}
		if k == schema.Enum || k == schema.Set {
			st.labels, st.set = slices.Clone(t.Elems), k == schema.Set
		}
		return st
	case k.IsBinary():
		return stype{c: cBin}
	case k == schema.Date:
		return stype{c: cDate}
	case k == schema.DateTime, k == schema.Timestamp:
		return stype{c: cDateTime, scale: t.Precision}
	case k == schema.Time:
		return stype{c: cTime, scale: t.Precision}
	}
	return stype{c: cOther}
}

// truth returns the node's truth function for use as a condition.
func (n *node) truth() (condFn, error) {
	if n.cond != nil {
		return n.cond, nil
	}
	switch n.t.c {
	case cInt, cDec, cFloat, cNull:
	default:
		return nil, fmt.Errorf("%s is not a condition: compare it with something", n.describe())
	}
	eval := n.eval
	if n.t.round {
		scale := n.t.scale
		return func(row []any, m map[string]any) tri { return truth(roundDec(eval(row, m), scale)) }, nil
	}
	if n.konst {
		t := truth(n.value())
		return func([]any, map[string]any) tri { return t }, nil
	}
	return func(row []any, m map[string]any) tri { return truth(eval(row, m)) }, nil
}

func (b *binder) binary(n *ast.BinaryOperationExpr) (*node, error) {
	l, err := b.compile(n.L)
	if err != nil {
		return nil, err
	}
	r, err := b.compile(n.R)
	if err != nil {
		return nil, err
	}
	text := restore(n)
	switch n.Op {
	case opcode.LogicAnd, opcode.LogicOr, opcode.LogicXor:
		return logic(n.Op, l, r, text)
	case opcode.EQ, opcode.NE, opcode.LT, opcode.LE, opcode.GT, opcode.GE, opcode.NullEQ:
		return comparison(cmpOps[n.Op], l, r, text)
	case opcode.Plus, opcode.Minus, opcode.Mul, opcode.Div, opcode.IntDiv, opcode.Mod:
		return arithmetic(n.Op, l, r, text)
	}
	return nil, fmt.Errorf("operator %s is not supported", opName(n.Op))
}

func logic(op opcode.Op, l, r *node, text string) (*node, error) {
	lc, err := l.truth()
	if err != nil {
		return nil, err
	}
	rc, err := r.truth()
	if err != nil {
		return nil, err
	}
	var cond condFn
	switch op {
	case opcode.LogicAnd:
		cond = func(row []any, m map[string]any) tri {
			a := lc(row, m)
			if a == no {
				return no
			}
			b := rc(row, m)
			if b == no {
				return no
			}
			if a == unknown || b == unknown {
				return unknown
			}
			return yes
		}
	case opcode.LogicOr:
		cond = func(row []any, m map[string]any) tri {
			a := lc(row, m)
			if a == yes {
				return yes
			}
			b := rc(row, m)
			if b == yes {
				return yes
			}
			if a == unknown || b == unknown {
				return unknown
			}
			return no
		}
	default: // XOR
		cond = func(row []any, m map[string]any) tri {
			a := lc(row, m)
			if a == unknown {
				return unknown
			}
			b := rc(row, m)
			if b == unknown {
				return unknown
			}
			return triOf(a != b)
		}
	}
	return condNode(cond, text, l, r), nil
}

func not(c condFn) condFn {
	return func(row []any, m map[string]any) tri {
		switch c(row, m) {
		case yes:
			return no
		case no:
			return yes
		}
		return unknown
	}
}

func (b *binder) unary(n *ast.UnaryOperationExpr) (*node, error) {
	v, err := b.compile(n.V)
	if err != nil {
		return nil, err
	}
	text := restore(n)
	switch n.Op {
	case opcode.Not, opcode.Not2:
		c, err := v.truth()
		if err != nil {
			return nil, err
		}
		return condNode(not(c), text, v), nil
	case opcode.Plus:
		return v, nil // a no-op in MySQL, whatever the type
	case opcode.Minus:
		conv, t, err := arithOperand(v)
		if err != nil {
			return nil, err
		}
		eval := v.eval
		isInt := t.c == cInt
		t.unsigned = false // -u is signed, and must fit BIGINT
		return fold(&node{t: t, text: text, eval: func(row []any, m map[string]any) val {
			x := eval(row, m)
			if conv != nil {
				x = conv(x)
			}
			if x = negate(x); isInt {
				x = intInRange(x, false)
			}
			return x
		}}, v), nil
	}
	return nil, fmt.Errorf("operator %s is not supported", opName(n.Op))
}

// conv converts a value for an operation; nil means no conversion.
type conv func(val) val

// then returns the conversion c followed by d.
func (c conv) then(d conv) conv {
	switch {
	case c == nil:
		return d
	case d == nil:
		return c
	}
	return func(v val) val { return d(c(v)) }
}

// apply applies the conversion to a value (NULL stays NULL).
func (c conv) apply(v val) val {
	if c == nil || v.k == vNull {
		return v
	}
	return c(v)
}

// arithOperand returns how an operand of arithmetic is converted to a
// number and the type it then has.
func arithOperand(n *node) (conv, stype, error) {
	t := n.t
	switch {
	case t.c == cNull, t.c == cInt, t.c == cDec, t.c == cFloat:
		return nil, stype{c: t.c, scale: t.scale, round: t.round, unsigned: t.unsigned}, nil
	case t.c == cStr && t.labels != nil:
		return labelIndex(t), stype{c: cInt}, nil
	case t.c == cHex:
		return func(v val) val { return uintVal(hexUint(v.s)) }, stype{c: cInt, unsigned: true}, nil
	case t.c == cStr:
		return toFloat, stype{c: cFloat}, nil
	}
	return nil, stype{}, fmt.Errorf("arithmetic on %s is not supported", n.describe())
}

// labelIndex converts ENUM labels to their index (1-based, 0 for the empty
// invalid value) and SET values to their bit mask, as MySQL does for them in
// numeric context.
func labelIndex(t stype) conv {
	labels, set := t.labels, t.set
	if !set {
		return func(v val) val {
			for i, l := range labels {
				if l == v.s {
					return intVal(int64(i + 1))
				}
			}
			return intVal(0)
		}
	}
	return func(v val) val {
		var mask int64
		s := v.s
		for s != "" {
			part := s
			if i := strings.IndexByte(s, ','); i >= 0 {
				part, s = s[:i], s[i+1:]
			} else {
				s = ""
			}
			for i, l := range labels {
				if l == part && i < 64 {
					mask |= 1 << i
				}
			}
		}
		return intVal(mask)
	}
}

func arithmetic(op opcode.Op, l, r *node, text string) (*node, error) {
	lc, lt, err := arithOperand(l)
	if err != nil {
		return nil, err
	}
	rc, rt, err := arithOperand(r)
	if err != nil {
		return nil, err
	}
	t := stype{c: cInt}
	switch {
	case lt.c == cNull || rt.c == cNull:
		return constNode(stype{c: cNull}, null, text), nil
	case op == opcode.IntDiv:
		t.c = cInt
	case lt.c == cFloat || rt.c == cFloat:
		t.c = cFloat
	case op == opcode.Div:
		t = stype{c: cDec, scale: min(lt.scale+4, maxScale), round: true}
	case lt.c == cDec || rt.c == cDec:
		t = stype{c: cDec, scale: max(lt.scale, rt.scale), round: lt.round || rt.round}
		if op == opcode.Mul {
			t.scale = min(lt.scale+rt.scale, maxScale)
		}
	}
	// Integer results must fit BIGINT, or BIGINT UNSIGNED when an operand
	// is unsigned; MariaDB raises an error otherwise.
	checkRange := t.c == cInt && op != opcode.Mod
	if checkRange {
		t.unsigned = lt.unsigned || rt.unsigned
	}
	unsigned := t.unsigned
	le, re := l.eval, r.eval
	n := &node{t: t, text: text, eval: func(row []any, m map[string]any) val {
		a := le(row, m)
		if a.k == vNull {
			return null
		}
		b := re(row, m)
		if b.k == vNull {
			return null
		}
		if lc != nil {
			a = lc(a)
		}
		if rc != nil {
			b = rc(b)
		}
		v := arith(op, a, b)
		if checkRange {
			v = intInRange(v, unsigned)
		}
		return v
	}}
	return fold(n, l, r), nil
}

func (b *binder) isNull(n *ast.IsNullExpr) (*node, error) {
	x, err := b.compile(n.Expr)
	if err != nil {
		return nil, err
	}
	eval := x.eval
	isNull := func(row []any, m map[string]any) bool { return eval(row, m).k == vNull }
	// MySQL's ODBC quirk: in WHERE, a NOT NULL DATE or DATETIME column IS
	// NULL when it holds the zero date.
	if c := x.col; c != nil && !c.Nullable && (c.Type.Kind == schema.Date || c.Type.Kind == schema.DateTime) && !n.Not {
		isNull = func(row []any, m map[string]any) bool {
			v := eval(row, m)
			return v.k == vNull || (v.k == vTime && v.i == zeroTime)
		}
	}
	neg := n.Not
	return condNode(func(row []any, m map[string]any) tri { return triOf(isNull(row, m) != neg) }, restore(n), x), nil
}

func (b *binder) isTruth(n *ast.IsTruthExpr) (*node, error) {
	x, err := b.compile(n.Expr)
	if err != nil {
		return nil, err
	}
	c, err := x.truth()
	if err != nil {
		return nil, err
	}
	want := triOf(n.True != 0)
	neg := n.Not
	return condNode(func(row []any, m map[string]any) tri { return triOf((c(row, m) == want) != neg) }, restore(n), x), nil
}

func (b *binder) collate(n *ast.SetCollationExpr) (*node, error) {
	x, err := b.compile(n.Expr)
	if err != nil {
		return nil, err
	}
	coll, ok := collationByName(n.Collate)
	if !ok {
		return nil, fmt.Errorf("collation %s is not supported (supported: %s)", n.Collate, supportedCollations())
	}
	out := *x
	out.col = nil
	out.text = restore(n)
	switch {
	case coll.binary && (x.t.c == cStr || x.t.c == cBin):
		out.t = stype{c: cBin}
	case x.t.c == cStr:
		if x.t.charset != coll.charset {
			return nil, fmt.Errorf("COLLATE %s does not fit %s, whose charset is %s", coll.name, x.describe(), x.t.charset)
		}
		out.t.coll, out.t.coerc = coll, 0
	default:
		return nil, fmt.Errorf("COLLATE applies to strings, not to %s", x.describe())
	}
	return &out, nil
}
