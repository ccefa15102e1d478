package rules

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
)

// cmpOp is a comparison operator.
type cmpOp uint8

const (
	opEQ cmpOp = iota
	opNE
	opLT
	opLE
	opGT
	opGE
	opNullEQ
)

var cmpOps = map[opcode.Op]cmpOp{
	opcode.EQ: opEQ, opcode.NE: opNE, opcode.LT: opLT, opcode.LE: opLE,
	opcode.GT: opGT, opcode.GE: opGE, opcode.NullEQ: opNullEQ,
}

// holds reports whether the operator holds for a comparison result c.
func (o cmpOp) holds(c int) bool {
	switch o {
	case opEQ, opNullEQ:
		return c == 0
	case opNE:
		return c != 0
	case opLT:
		return c < 0
	case opLE:
		return c <= 0
	case opGT:
		return c > 0
	}
	return c >= 0
}

// cmpMode is the type two values are compared as.
type cmpMode uint8

const (
	mNull  cmpMode = iota // an operand is the NULL literal: the result is NULL
	mExact                // exact numbers (vInt, vDec)
	mFloat                // doubles
	mText                 // text in a collation
	mBin                  // binary strings, bytewise
	mTime                 // dates and datetimes (vTime)
	mDur                  // times (vDur)
)

// group names the family of a mode, for IN lists that mix them.
func (m cmpMode) group() string {
	switch m {
	case mExact, mFloat:
		return "numbers"
	case mText, mBin:
		return "strings"
	case mTime:
		return "dates"
	case mDur:
		return "times"
	}
	return ""
}

// plan is how two operands are compared: the mode, the collation of mText,
// the operands (constants already converted to the mode) and the per-row
// conversions of the others.
type plan struct {
	mode   cmpMode
	coll   *collation
	l, r   *node
	cl, cr conv
}

// compare compares two non-NULL values already converted to the plan's
// mode.
func (p *plan) compare(a, b val) int {
	switch p.mode {
	case mExact:
		return compareExact(a, b)
	case mFloat:
		return cmp.Compare(a.float(), b.float())
	case mText:
		return p.coll.compare(a.s, b.s)
	case mBin:
		return strings.Compare(a.s, b.s)
	}
	return cmp.Compare(a.i, b.i)
}

// cond returns the truth function of "l op r".
func (p *plan) cond(op cmpOp) condFn {
	le, re, cl, cr := p.l.eval, p.r.eval, p.cl, p.cr
	if op == opNullEQ {
		return func(row []any, m map[string]any) tri {
			a, b := le(row, m), re(row, m)
			if a.k == vNull || b.k == vNull {
				return triOf(a.k == b.k)
			}
			return triOf(p.compare(cl.apply(a), cr.apply(b)) == 0)
		}
	}
	if p.r.konst && cl == nil {
		// The common "column op literal": the literal is converted already.
		b := p.r.value()
		if b.k == vNull {
			return func([]any, map[string]any) tri { return unknown }
		}
		return func(row []any, m map[string]any) tri {
			a := le(row, m)
			if a.k == vNull {
				return unknown
			}
			return triOf(op.holds(p.compare(a, b)))
		}
	}
	return func(row []any, m map[string]any) tri {
		a := le(row, m)
		if a.k == vNull {
			return unknown
		}
		b := re(row, m)
		if b.k == vNull {
			return unknown
		}
		return triOf(op.holds(p.compare(cl.apply(a), cr.apply(b))))
	}
}

func comparison(op cmpOp, l, r *node, text string) (*node, error) {
	p, err := planPair(l, r, false)
	if err != nil {
		return nil, err
	}
	return condNode(p.cond(op), text, l, r), nil
}

// stringy reports whether t is a string type.
func stringy(t stype) bool { return t.c == cStr || t.c == cBin || t.c == cHex }

// pickCollation returns the collation two texts compare in: the one of
// lower coercibility (COLLATE, then columns, then literals); between equals,
// a Unicode one over another charset's, else a's.
func pickCollation(a, b stype) *collation {
	switch {
	case a.coerc < b.coerc:
		return a.coll
	case b.coerc < a.coerc:
		return b.coll
	case a.coll.charset != b.coll.charset && b.coll.charset == "utf8mb4":
		return b.coll
	}
	return a.coll
}

// planPair decides how l and r compare, following MariaDB's rules: strings
// as strings (binary if either is), dates and times as such (a string
// literal is read as one), numbers exactly unless a double is involved,
// ENUM and SET by their index against numbers, and a string against a
// number as a number: exactly against an integer, as a double against a
// decimal or double (as MariaDB, except that a decimal compared by an
// operator with a string literal reads the literal exactly, as MariaDB does
// there). inList is set for the pairs of IN and BETWEEN.
func planPair(l, r *node, inList bool) (plan, error) {
	p := plan{l: l, r: r}
	lt, rt := l.t, r.t
	if lt.c == cOther || rt.c == cOther {
		n := l
		if rt.c == cOther {
			n = r
		}
		return p, fmt.Errorf("%s can only be tested with IS NULL", n.describe())
	}
	if lt.c == cNull || rt.c == cNull {
		p.mode = mNull
		return p, nil
	}
	switch {
	case stringy(lt) && stringy(rt):
		if lt.c == cStr && rt.c == cStr {
			p.mode, p.coll = mText, pickCollation(lt, rt)
		} else {
			p.mode = mBin
		}
		return p, nil
	case lt.temporal() || rt.temporal() || lt.c == cTime || rt.c == cTime:
		return planTemporal(p)
	}
	lconv, lc, lok := numView(l)
	rconv, rc, rok := numView(r)
	switch {
	case lok && rok:
		p.mode = mExact
		if lc == cFloat || rc == cFloat {
			p.mode = mFloat
		}
		p.cl, p.cr = lconv, rconv
	case lok && rt.c == cStr:
		var err error
		if p.mode, p.r, p.cr, err = numberVersusString(l, lc, r, inList); err != nil {
			return p, err
		}
		p.cl = lconv
	case rok && lt.c == cStr:
		var err error
		if p.mode, p.l, p.cl, err = numberVersusString(r, rc, l, inList); err != nil {
			return p, err
		}
		p.cr = rconv
	default:
		return p, fmt.Errorf("cannot compare %s with %s", l.describe(), r.describe())
	}
	if p.mode == mFloat {
		p.cl, p.cr = p.cl.then(toFloat), p.cr.then(toFloat)
	}
	p.convertConstants()
	return p, nil
}

// convertConstants applies the conversions of constant operands once, at
// bind time.
func (p *plan) convertConstants() {
	if p.l.konst && p.cl != nil {
		p.l = constNode(p.l.t, p.cl.apply(p.l.value()), p.l.text)
		p.cl = nil
	}
	if p.r.konst && p.cr != nil {
		p.r = constNode(p.r.t, p.cr.apply(p.r.value()), p.r.text)
		p.cr = nil
	}
}

// numView returns how a node reads as a number in a comparison: its
// conversion and numeric class.
func numView(n *node) (conv, class, bool) {
	t := n.t
	switch {
	case t.c == cInt, t.c == cFloat:
		return nil, t.c, true
	case t.c == cDec:
		if t.round {
			scale := t.scale
			return func(v val) val { return roundDec(v, scale) }, cDec, true
		}
		return nil, cDec, true
	case t.c == cStr && t.labels != nil:
		return labelIndex(t), cInt, true
	case t.c == cHex:
		return func(v val) val { return uintVal(hexUint(v.s)) }, cInt, true
	}
	return nil, 0, false
}

// numberVersusString plans a number x (of numeric class xc) compared with a
// text s: it returns the mode, s (converted when constant) and the per-row
// conversion of s.
func numberVersusString(x *node, xc class, s *node, inList bool) (cmpMode, *node, conv, error) {
	if s.konst {
		num, ok := strictNumber(s.value().s)
		if !ok {
			return 0, nil, nil, fmt.Errorf("cannot compare %s with %s: it is not a number (MySQL would read it as %s)",
				x.describe(), s.text, readAs(s.value().s))
		}
		if xc == cFloat || (inList && xc == cDec) {
			f, _ := strconv.ParseFloat(num, 64)
			return mFloat, constNode(stype{c: cFloat}, floatVal(f), s.text), nil, nil
		}
		return mExact, constNode(stype{c: cDec}, exactOf(num), s.text), nil, nil
	}
	if xc == cInt {
		return mExact, s, toExact, nil
	}
	return mFloat, s, nil, nil // toFloat is added for mFloat
}

// readAs says what number MySQL reads a string as, for messages.
func readAs(s string) string {
	num, _ := numberPrefix(s)
	if num == "" {
		return "0"
	}
	return num
}

// planTemporal plans comparisons involving dates and times.
func planTemporal(p plan) (plan, error) {
	l, r := p.l, p.r
	var err error
	switch {
	case l.t.temporal() && r.t.temporal():
		p.mode = mTime
	case l.t.c == cTime && r.t.c == cTime:
		p.mode = mDur
	case (l.t.temporal() || l.t.c == cTime) && r.t.c == cStr && r.konst:
		p.mode, p.r, err = temporalConstant(l, r)
	case (r.t.temporal() || r.t.c == cTime) && l.t.c == cStr && l.konst:
		p.mode, p.l, err = temporalConstant(r, l)
	default:
		err = fmt.Errorf("cannot compare %s with %s: compare dates and times with each other or with quoted literals such as '2024-01-31', '2024-01-31 10:30:00' or '10:30:00'",
			l.describe(), r.describe())
	}
	return p, err
}

// temporalConstant reads the string constant s compared with the temporal
// t as a date, datetime or time.
func temporalConstant(t, s *node) (cmpMode, *node, error) {
	text := s.value().s
	if t.t.c == cTime {
		micros, err := parseTime(text)
		if err != nil {
			return 0, nil, fmt.Errorf("cannot compare %s with %s: %w", t.describe(), s.text, err)
		}
		return mDur, constNode(stype{c: cTime}, val{k: vDur, i: micros}, s.text), nil
	}
	micros, _, err := parseDateTime(text)
	if err != nil {
		return 0, nil, fmt.Errorf("cannot compare %s with %s: %w", t.describe(), s.text, err)
	}
	return mTime, constNode(stype{c: cDateTime}, val{k: vTime, i: micros}, s.text), nil
}

func (b *binder) between(n *ast.BetweenExpr) (*node, error) {
	x, err := b.compile(n.Expr)
	if err != nil {
		return nil, err
	}
	lo, err := b.compile(n.Left)
	if err != nil {
		return nil, err
	}
	hi, err := b.compile(n.Right)
	if err != nil {
		return nil, err
	}
	pl, err := planPair(x, lo, true)
	if err != nil {
		return nil, err
	}
	ph, err := planPair(x, hi, true)
	if err != nil {
		return nil, err
	}
	if g1, g2 := pl.mode.group(), ph.mode.group(); g1 != "" && g2 != "" && g1 != g2 {
		return nil, fmt.Errorf("BETWEEN mixes %s and %s", g1, g2)
	}
	ge, le := pl.cond(opGE), ph.cond(opLE)
	cond := func(row []any, m map[string]any) tri {
		a := ge(row, m)
		if a == no {
			return no
		}
		b := le(row, m)
		if b == no {
			return no
		}
		if a == unknown || b == unknown {
			return unknown
		}
		return yes
	}
	if n.Not {
		cond = not(cond)
	}
	return condNode(cond, restore(n), x, lo, hi), nil
}

func (b *binder) in(n *ast.PatternInExpr) (*node, error) {
	x, err := b.compile(n.Expr)
	if err != nil {
		return nil, err
	}
	elems := make([]*node, len(n.List))
	for i, e := range n.List {
		if elems[i], err = b.compile(e); err != nil {
			return nil, err
		}
	}
	text := restore(n)
	if len(elems) == 1 {
		// MariaDB turns a one-element IN into =.
		c, err := comparison(opEQ, x, elems[0], text)
		if err != nil || !n.Not {
			return c, err
		}
		return condNode(not(c.cond), text, c), nil
	}
	plans := make([]plan, len(elems))
	group := ""
	for i, e := range elems {
		if plans[i], err = planPair(x, e, true); err != nil {
			return nil, err
		}
		g := plans[i].mode.group()
		if group != "" && g != "" && g != group {
			return nil, fmt.Errorf("IN list mixes %s and %s", group, g)
		}
		if g != "" {
			group = g
		}
	}
	xe := x.eval
	var cond condFn
	if consts, ok := constantList(x, plans); ok {
		// The common "column IN (literals)": compare with the converted
		// literals directly.
		cond = func(row []any, m map[string]any) tri {
			a := xe(row, m)
			if a.k == vNull {
				return unknown
			}
			res := no
			for i := range consts {
				if consts[i].k == vNull {
					res = unknown
				} else if plans[i].compare(a, consts[i]) == 0 {
					return yes
				}
			}
			return res
		}
		if n.Not {
			cond = not(cond)
		}
		return condNode(cond, text, append(elems, x)...), nil
	}
	cond = func(row []any, m map[string]any) tri {
		a := xe(row, m)
		if a.k == vNull {
			return unknown
		}
		res := no
		for i := range plans {
			p := &plans[i]
			if p.mode == mNull {
				res = unknown
				continue
			}
			b := p.r.eval(row, m)
			if b.k == vNull {
				res = unknown
				continue
			}
			pa := a
			if p.l != x { // x was a constant, converted for this pair
				pa = p.l.value()
			}
			if p.compare(p.cl.apply(pa), p.cr.apply(b)) == 0 {
				return yes
			}
		}
		return res
	}
	if n.Not {
		cond = not(cond)
	}
	return condNode(cond, text, append(elems, x)...), nil
}

// constantList returns the values of an IN list's elements when they are
// all constants and x needs no per-row conversion in any pair.
func constantList(x *node, plans []plan) ([]val, bool) {
	vals := make([]val, len(plans))
	for i := range plans {
		p := &plans[i]
		if !p.r.konst || p.cl != nil || p.l != x {
			return nil, false
		}
		vals[i] = p.r.value()
		if p.mode == mNull {
			vals[i] = null
		}
	}
	return vals, true
}

// stringer returns how a LIKE operand reads as a string.
type stringer func(row []any, m map[string]any) (string, bool)

// likeOperand returns how a node reads as a string for LIKE, and the
// string type it has.
func likeOperand(n *node) (stringer, stype, error) {
	eval := n.eval
	t := n.t
	str := stype{c: cStr, coll: utf8mb4GeneralCI, coerc: 5, charset: "utf8mb4"}
	var f func(v val) string
	switch t.c {
	case cStr, cBin, cHex:
		return func(row []any, m map[string]any) (string, bool) {
			v := eval(row, m)
			return v.s, v.k != vNull
		}, t, nil
	case cNull:
		return func([]any, map[string]any) (string, bool) { return "", false }, str, nil
	case cInt:
		f = func(v val) string { return formatNumber(v, 0) }
	case cDec:
		scale := t.scale
		f = func(v val) string { return formatNumber(v, scale) }
	case cDate:
		f = func(v val) string { return formatDateTime(v.i, false, 0) }
	case cDateTime:
		fsp := t.scale
		f = func(v val) string { return formatDateTime(v.i, true, fsp) }
	case cTime:
		fsp := t.scale
		f = func(v val) string { return formatTime(v.i, fsp) }
	default:
		return nil, stype{}, fmt.Errorf("LIKE on %s is not supported", n.describe())
	}
	return func(row []any, m map[string]any) (string, bool) {
		v := eval(row, m)
		if v.k == vNull {
			return "", false
		}
		return f(v), true
	}, str, nil
}

func (b *binder) like(n *ast.PatternLikeOrIlikeExpr) (*node, error) {
	x, err := b.compile(n.Expr)
	if err != nil {
		return nil, err
	}
	p, err := b.compile(n.Pattern)
	if err != nil {
		return nil, err
	}
	xs, xt, err := likeOperand(x)
	if err != nil {
		return nil, err
	}
	ps, pt, err := likeOperand(p)
	if err != nil {
		return nil, err
	}
	coll := binaryCollation
	if xt.c == cStr && pt.c == cStr {
		coll = pickCollation(xt, pt)
	}
	esc := rune(n.Escape)
	if esc == 0 {
		esc = '\\' // ESCAPE '' is the default escape, outside NO_BACKSLASH_ESCAPES
	}
	if p.konst {
		pat, ok := ps(nil, nil)
		ps = func([]any, map[string]any) (string, bool) { return pat, ok }
	}
	cond := func(row []any, m map[string]any) tri {
		s, ok := xs(row, m)
		if !ok {
			return unknown
		}
		pat, ok := ps(row, m)
		if !ok {
			return unknown
		}
		return triOf(likeMatch(s, pat, esc, coll))
	}
	if n.Not {
		cond = not(cond)
	}
	return condNode(cond, restore(n), x, p), nil
}
