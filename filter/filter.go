// Package filter selects the tables a task captures from lists of
// db.table patterns, as given to --tables and --exclude-tables.
//
// A list is comma-separated. Each pattern is a database part and a table
// part joined by a dot; each part may use the wildcards * (any run of
// characters) and ? (one character), and the other syntax of path.Match
// ([a-z] classes, \ escapes). A part written in backticks is taken
// literally, for names that contain dots, commas or wildcard characters; a
// backtick inside one is doubled:
//
//	shop.orders, shop.order_*, *.audit_log, `my.db`.`a,b`
//
// Names are compared case-sensitively, as MySQL does on Linux. The system
// databases (mysql, information_schema, performance_schema, sys) are never
// selected, whatever the patterns say.
package filter

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// ErrBadPattern is wrapped by every error about a malformed pattern.
var ErrBadPattern = errors.New("bad table pattern")

// IsSystemDatabase reports whether db is one of the server's own databases
// (mysql, information_schema, performance_schema, sys), which a filter
// never selects.
func IsSystemDatabase(db string) bool {
	switch strings.ToLower(db) {
	case "mysql", "information_schema", "performance_schema", "sys":
		return true
	}
	return false
}

// Pattern is one db.table pattern of a list.
type Pattern struct {
	text  string // as written, trimmed
	db    string // path.Match pattern for the database
	table string // path.Match pattern for the table
}

// Match reports whether the pattern matches db.table. It does not exclude
// the system databases; Filter.Match does.
func (p Pattern) Match(db, table string) bool {
	okDB, _ := path.Match(p.db, db)
	if !okDB {
		return false
	}
	okTable, _ := path.Match(p.table, table)
	return okTable
}

// String returns the pattern as written.
func (p Pattern) String() string { return p.text }

// Filter selects tables: those matched by an include pattern and by no
// exclude pattern, outside the system databases.
type Filter struct {
	include []Pattern
	exclude []Pattern
}

// Parse parses the include and exclude lists. An empty include list is an
// error (it would select nothing); an empty exclude list excludes nothing.
// Errors wrap ErrBadPattern and name the pattern.
func Parse(include, exclude string) (*Filter, error) {
	inc, err := parseList(include)
	if err != nil {
		return nil, err
	}
	if len(inc) == 0 {
		return nil, fmt.Errorf("%w: no tables selected; give patterns such as shop.orders or shop.*", ErrBadPattern)
	}
	exc, err := parseList(exclude)
	if err != nil {
		return nil, err
	}
	return &Filter{include: inc, exclude: exc}, nil
}

// Match reports whether the table db.table is selected.
func (f *Filter) Match(db, table string) bool {
	if IsSystemDatabase(db) {
		return false
	}
	return matchAny(f.include, db, table) && !matchAny(f.exclude, db, table)
}

// Includes returns the include patterns, in the order given.
func (f *Filter) Includes() []Pattern { return append([]Pattern(nil), f.include...) }

// Excludes returns the exclude patterns, in the order given.
func (f *Filter) Excludes() []Pattern { return append([]Pattern(nil), f.exclude...) }

// String describes the filter: the include list, then the exclude list if
// any, e.g. "shop.*,crm.users excluding shop.tmp_*".
func (f *Filter) String() string {
	s := joinPatterns(f.include)
	if len(f.exclude) > 0 {
		s += " excluding " + joinPatterns(f.exclude)
	}
	return s
}

func joinPatterns(ps []Pattern) string {
	texts := make([]string, len(ps))
	for i, p := range ps {
		texts[i] = p.text
	}
	return strings.Join(texts, ",")
}

func matchAny(ps []Pattern, db, table string) bool {
	for _, p := range ps {
		if p.Match(db, table) {
			return true
		}
	}
	return false
}

// parseList splits a comma-separated list outside backticks and parses each
// pattern. Empty items (a trailing comma, spaces) are skipped.
func parseList(list string) ([]Pattern, error) {
	var (
		out      []Pattern
		start    int
		inQuotes bool
	)
	for i := 0; i <= len(list); i++ {
		if i < len(list) {
			switch list[i] {
			case '`':
				inQuotes = !inQuotes // a doubled backtick toggles twice
				continue
			case ',':
				if inQuotes {
					continue
				}
			default:
				continue
			}
		}
		if inQuotes {
			return nil, fmt.Errorf("%w: %q has an unclosed backtick", ErrBadPattern, strings.TrimSpace(list[start:]))
		}
		text := strings.TrimSpace(list[start:i])
		start = i + 1
		if text == "" {
			continue
		}
		p, err := parsePattern(text)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// parsePattern parses one db.table pattern.
func parsePattern(text string) (Pattern, error) {
	var (
		parts []string
		cur   strings.Builder
	)
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '`':
			// A quoted run: literal up to the closing backtick; `` is one.
			j := i + 1
			for {
				k := strings.IndexByte(text[j:], '`')
				if k < 0 {
					return Pattern{}, fmt.Errorf("%w: %q has an unclosed backtick", ErrBadPattern, text)
				}
				cur.WriteString(escapeLiteral(text[j : j+k]))
				j += k + 1
				if j < len(text) && text[j] == '`' {
					cur.WriteString("`")
					j++
					continue
				}
				break
			}
			i = j - 1
		case c == '.':
			parts = append(parts, cur.String())
			cur.Reset()
		case c == '\\' && i+1 < len(text):
			cur.WriteByte(c)
			cur.WriteByte(text[i+1])
			i++
		default:
			cur.WriteByte(c)
		}
	}
	parts = append(parts, cur.String())
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return Pattern{}, fmt.Errorf("%w: %q must be db.table, db.* or *.table (quote names that contain dots with backticks)", ErrBadPattern, text)
	}
	for _, part := range parts {
		if _, err := path.Match(part, ""); err != nil {
			return Pattern{}, fmt.Errorf("%w: %q: %v (quote literal [ or \\ with backticks)", ErrBadPattern, text, err)
		}
	}
	return Pattern{text: text, db: parts[0], table: parts[1]}, nil
}

// escapeLiteral escapes path.Match's special characters.
func escapeLiteral(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`).Replace(s)
}
