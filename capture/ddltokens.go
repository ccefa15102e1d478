package capture

import (
	"errors"
	"strings"
)

// tokKind is the kind of a lexical token of a logged statement.
type tokKind int

const (
	tokWord   tokKind = iota // keyword, unquoted identifier or number
	tokIdent                 // backquoted identifier, unquoted
	tokString                // quoted string, as written
	tokPunct                 // one character of punctuation
)

// token is one lexical token of a statement.
type token struct {
	kind tokKind
	text string
}

// is reports whether t is the keyword w (w in upper case).
func (t token) is(w string) bool { return t.kind == tokWord && strings.EqualFold(t.text, w) }

// name reports whether t can be a table or column name.
func (t token) name() bool { return t.kind == tokWord || t.kind == tokIdent }

// errLex means a statement's text ends inside a comment, string or quoted
// identifier.
var errLex = errors.New("statement ends inside a comment, string or quoted name")

// tokenize splits a statement into tokens. Comments are dropped, except
// MySQL and MariaDB executable comments (/*! ... */, /*!50001 ... */,
// /*M!100301 ... */), whose contents the server runs and which are read as
// if written without the comment. exec is the statement with the markers of
// executable comments blanked out, for a parser that does not know them;
// identifiers, strings and everything else keep their place and text.
func tokenize(q string) (toks []token, exec string, err error) {
	b := []byte(q)
	inExec := false
	blank := func(from, to int) {
		for i := from; i < to; i++ {
			b[i] = ' '
		}
	}
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case inExec && c == '*' && i+1 < len(q) && q[i+1] == '/':
			blank(i, i+2)
			inExec = false
			i += 2
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			j := i + 2
			switch {
			case !inExec && j < len(q) && q[j] == '!':
				j++
			case !inExec && j+1 < len(q) && (q[j] == 'M' || q[j] == 'm') && q[j+1] == '!':
				j += 2
			default:
				end := strings.Index(q[j:], "*/")
				if end < 0 {
					return nil, "", errLex
				}
				i = j + end + 2
				continue
			}
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			blank(i, j)
			inExec = true
			i = j
		case c == '#' || (c == '-' && strings.HasPrefix(q[i:], "--") && (i+2 == len(q) || q[i+2] <= ' ')):
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				i = len(q)
			} else {
				i += end + 1
			}
		case c == '`':
			var sb strings.Builder
			j := i + 1
			for {
				k := strings.IndexByte(q[j:], '`')
				if k < 0 {
					return nil, "", errLex
				}
				sb.WriteString(q[j : j+k])
				j += k + 1
				if j < len(q) && q[j] == '`' {
					sb.WriteByte('`')
					j++
					continue
				}
				break
			}
			toks = append(toks, token{tokIdent, sb.String()})
			i = j
		case c == '\'' || c == '"':
			j := i + 1
			for {
				if j >= len(q) {
					return nil, "", errLex
				}
				if q[j] == '\\' {
					j += 2
					continue
				}
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			toks = append(toks, token{tokString, q[i : j+1]})
			i = j + 1
		case isWordByte(c):
			j := i + 1
			for j < len(q) && isWordByte(q[j]) {
				j++
			}
			toks = append(toks, token{tokWord, q[i:j]})
			i = j
		default:
			toks = append(toks, token{tokPunct, q[i : i+1]})
			i++
		}
	}
	if inExec {
		return nil, "", errLex
	}
	return toks, string(b), nil
}

// isWordByte reports whether c belongs to an unquoted word: letters,
// digits, _, $ and any byte of a multi-byte UTF-8 character.
func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}
