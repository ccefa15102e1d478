package rules

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// function is a function a filter may call.
type function struct {
	display          string // the name in messages
	minArgs, maxArgs int    // maxArgs -1: any number
	compile          func(args []*node, text string) (*node, error)
}

// arity describes the number of arguments the function takes.
func (f function) arity() string {
	switch {
	case f.maxArgs < 0 && f.minArgs == 1:
		return "at least one argument"
	case f.maxArgs < 0:
		return fmt.Sprintf("at least %d arguments", f.minArgs)
	case f.minArgs == f.maxArgs && f.minArgs == 1:
		return "one argument"
	case f.minArgs == f.maxArgs:
		return fmt.Sprintf("%d arguments", f.minArgs)
	}
	return fmt.Sprintf("%d to %d arguments", f.minArgs, f.maxArgs)
}

// functions are the deterministic functions filters may use, by lower-case
// name (the temporal literals DATE '...', TIME '...' and TIMESTAMP '...'
// included).
var functions = map[string]function{
	"lower":              {"LOWER", 1, 1, caseMap(strings.ToLower)},
	"lcase":              {"LCASE", 1, 1, caseMap(strings.ToLower)},
	"upper":              {"UPPER", 1, 1, caseMap(strings.ToUpper)},
	"ucase":              {"UCASE", 1, 1, caseMap(strings.ToUpper)},
	"length":             {"LENGTH", 1, 1, length},
	"octet_length":       {"OCTET_LENGTH", 1, 1, length},
	"char_length":        {"CHAR_LENGTH", 1, 1, charLength},
	"character_length":   {"CHARACTER_LENGTH", 1, 1, charLength},
	"coalesce":           {"COALESCE", 1, -1, coalesce},
	"ifnull":             {"IFNULL", 2, 2, coalesce},
	"abs":                {"ABS", 1, 1, absFunc},
	"date":               {"DATE", 1, 1, dateFunc},
	"year":               {"YEAR", 1, 1, datePart(func(t time.Time) int { return t.Year() })},
	"month":              {"MONTH", 1, 1, datePart(func(t time.Time) int { return int(t.Month()) })},
	"day":                {"DAY", 1, 1, datePart(func(t time.Time) int { return t.Day() })},
	"dayofmonth":         {"DAYOFMONTH", 1, 1, datePart(func(t time.Time) int { return t.Day() })},
	ast.DateLiteral:      {"DATE", 1, 1, temporalLiteral(cDate)},
	ast.TimestampLiteral: {"TIMESTAMP", 1, 1, temporalLiteral(cDateTime)},
	ast.TimeLiteral:      {"TIME", 1, 1, temporalLiteral(cTime)},
}

// supportedFunctions lists the functions filters may call.
func supportedFunctions() string {
	var names []string
	for name, f := range functions {
		if strings.HasPrefix(name, "'") {
			continue // temporal literals
		}
		names = append(names, f.display)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func (b *binder) call(n *ast.FuncCallExpr) (*node, error) {
	f, ok := functions[n.FnName.L]
	if !ok {
		return nil, fmt.Errorf("function %s() is not supported", strings.ToUpper(n.FnName.O))
	}
	args := make([]*node, len(n.Args))
	for i, a := range n.Args {
		var err error
		if args[i], err = b.compile(a); err != nil {
			return nil, err
		}
	}
	out, err := f.compile(args, restore(n))
	if err != nil {
		return nil, err
	}
	return fold(out, args...), nil
}

// stringArg checks that the one argument of a string function is a string
// (or NULL).
func stringArg(name string, x *node) error {
	switch x.t.c {
	case cStr, cBin, cHex, cNull:
		return nil
	}
	return fmt.Errorf("%s() takes a string, not %s", name, x.describe())
}

// caseMap compiles LOWER and UPPER: text is mapped with Go's Unicode case
// mapping; binary strings are returned unchanged, as MySQL does.
func caseMap(f func(string) string) func([]*node, string) (*node, error) {
	return func(args []*node, text string) (*node, error) {
		x := args[0]
		if err := stringArg(strings.SplitN(text, "(", 2)[0], x); err != nil {
			return nil, err
		}
		eval := x.eval
		out := &node{t: x.t, text: text}
		out.t.labels, out.t.set = nil, false
		if x.t.c != cStr {
			out.eval = eval
			return out, nil
		}
		out.eval = func(row []any, m map[string]any) val {
			v := eval(row, m)
			if v.k == vStr {
				v.s = f(v.s)
			}
			return v
		}
		return out, nil
	}
}

// length compiles LENGTH: the length in bytes of the string in its
// charset.
func length(args []*node, text string) (*node, error) {
	x := args[0]
	if err := stringArg("LENGTH", x); err != nil {
		return nil, err
	}
	size := func(s string) int64 { return int64(len(s)) }
	if x.t.c == cStr {
		switch cs := x.t.charset; cs {
		case "utf8mb4", "utf8mb3":
		case "ucs2":
			size = func(s string) int64 { return 2 * int64(utf8.RuneCountInString(s)) }
		case "utf32":
			size = func(s string) int64 { return 4 * int64(utf8.RuneCountInString(s)) }
		case "utf16", "utf16le":
			size = func(s string) int64 {
				n := int64(0)
				for _, r := range s {
					n += 2
					if r > 0xFFFF {
						n += 2
					}
				}
				return n
			}
		default:
			if !singleByte(cs) {
				return nil, fmt.Errorf("LENGTH() of %s (charset %s) is not supported; CHAR_LENGTH() is", x.describe(), cs)
			}
			size = func(s string) int64 { return int64(utf8.RuneCountInString(s)) }
		}
	}
	eval := x.eval
	return &node{t: stype{c: cInt}, text: text, eval: func(row []any, m map[string]any) val {
		v := eval(row, m)
		if v.k == vNull {
			return null
		}
		return intVal(size(v.s))
	}}, nil
}

// singleByte reports whether charset cs stores every character in one
// byte.
func singleByte(cs string) bool {
	switch cs {
	case "latin1", "latin2", "latin5", "latin7", "ascii", "cp1250", "cp1251", "cp1256", "cp1257",
		"cp850", "cp852", "cp866", "dec8", "greek", "hebrew", "hp8", "keybcs2", "koi8r", "koi8u",
		"macce", "macroman", "swe7", "tis620", "armscii8", "geostd8":
		return true
	}
	return false
}

// charLength compiles CHAR_LENGTH: characters of text, bytes of binary
// strings.
func charLength(args []*node, text string) (*node, error) {
	x := args[0]
	if err := stringArg("CHAR_LENGTH", x); err != nil {
		return nil, err
	}
	eval := x.eval
	return &node{t: stype{c: cInt}, text: text, eval: func(row []any, m map[string]any) val {
		v := eval(row, m)
		switch v.k {
		case vNull:
			return null
		case vStr:
			return intVal(int64(utf8.RuneCountInString(v.s)))
		}
		return intVal(int64(len(v.s)))
	}}, nil
}

// coalesce compiles COALESCE and IFNULL: the first argument that is not
// NULL. The arguments must be of one kind (numbers, strings, dates, times);
// numbers of different classes are widened to the widest.
func coalesce(args []*node, text string) (*node, error) {
	var t stype
	t.c = cNull
	for _, a := range args {
		at := a.t
		switch {
		case at.c == cNull:
			continue
		case at.c == cOther:
			return nil, fmt.Errorf("%s: %s can only be tested with IS NULL", text, a.describe())
		case t.c == cNull:
			t = at
			t.labels, t.set = nil, false
		case t.numeric() && at.numeric():
			t.c = max(t.c, at.c) // cInt < cDec < cFloat
			t.scale, t.round = max(t.scale, at.scale), t.round || at.round
		case t.temporal() && at.temporal():
			t.c, t.scale = cDateTime, max(t.scale, at.scale)
		case t.c == cStr && at.c == cStr:
			if c := pickCollation(t, at); c != t.coll {
				t.coll, t.coerc, t.charset = c, at.coerc, at.charset
			}
		case stringy(t) && stringy(at):
			t = stype{c: cBin}
		case t.c == at.c:
			t.scale = max(t.scale, at.scale)
		default:
			return nil, fmt.Errorf("%s mixes %s and %s; give all arguments one type", text, args[0].describe(), a.describe())
		}
	}
	evals := make([]evalFn, len(args))
	for i, a := range args {
		evals[i] = a.eval
		if t.c == cFloat && a.t.c != cFloat {
			ev := a.eval
			evals[i] = func(row []any, m map[string]any) val { return toFloat(ev(row, m)) }
		}
	}
	return &node{t: t, text: text, eval: func(row []any, m map[string]any) val {
		for _, ev := range evals {
			if v := ev(row, m); v.k != vNull {
				return v
			}
		}
		return null
	}}, nil
}

func absFunc(args []*node, text string) (*node, error) {
	x := args[0]
	c, t, err := arithOperand(x)
	if err != nil {
		return nil, fmt.Errorf("ABS() takes a number, not %s", x.describe())
	}
	eval := x.eval
	return &node{t: t, text: text, eval: func(row []any, m map[string]any) val {
		return absVal(c.apply(eval(row, m)))
	}}, nil
}

// temporalArg returns how the argument of a date function reads as a
// vTime: a date or datetime, or a string literal read as one.
func temporalArg(name string, x *node) (evalFn, error) {
	switch {
	case x.t.temporal(), x.t.c == cNull:
		return x.eval, nil
	case x.t.c == cStr && x.konst:
		micros, _, err := parseDateTime(x.value().s)
		if err != nil {
			return nil, fmt.Errorf("%s(): %w", name, err)
		}
		v := val{k: vTime, i: micros}
		return func([]any, map[string]any) val { return v }, nil
	}
	return nil, fmt.Errorf("%s() takes a date or datetime, not %s", name, x.describe())
}

// dateFunc compiles DATE(): the date part.
func dateFunc(args []*node, text string) (*node, error) {
	eval, err := temporalArg("DATE", args[0])
	if err != nil {
		return nil, err
	}
	return &node{t: stype{c: cDate}, text: text, eval: func(row []any, m map[string]any) val {
		v := eval(row, m)
		if v.k == vTime {
			v.i = dateOf(v.i)
		}
		return v
	}}, nil
}

// datePart compiles YEAR(), MONTH() and DAY(): a field of the date, 0 for
// the zero date.
func datePart(field func(time.Time) int) func([]*node, string) (*node, error) {
	return func(args []*node, text string) (*node, error) {
		eval, err := temporalArg(strings.SplitN(text, "(", 2)[0], args[0])
		if err != nil {
			return nil, err
		}
		return &node{t: stype{c: cInt}, text: text, eval: func(row []any, m map[string]any) val {
			v := eval(row, m)
			if v.k != vTime {
				return null
			}
			if v.i == zeroTime {
				return intVal(0)
			}
			return intVal(int64(field(time.UnixMicro(v.i).UTC())))
		}}, nil
	}
}

// temporalLiteral compiles DATE '...', TIMESTAMP '...' and TIME '...'.
func temporalLiteral(c class) func([]*node, string) (*node, error) {
	return func(args []*node, text string) (*node, error) {
		x := args[0]
		if x.t.c != cStr || !x.konst {
			return nil, fmt.Errorf("bad temporal literal %s", text)
		}
		s := x.value().s
		if c == cTime {
			micros, err := parseTime(s)
			if err != nil {
				return nil, err
			}
			return constNode(stype{c: cTime, scale: 6}, val{k: vDur, i: micros}, text), nil
		}
		micros, hasTime, err := parseDateTime(s)
		if err != nil {
			return nil, err
		}
		if c == cDate && hasTime {
			return nil, fmt.Errorf("DATE literal %s has a time", quote(s))
		}
		return constNode(stype{c: c, scale: 6}, val{k: vTime, i: micros}, text), nil
	}
}
