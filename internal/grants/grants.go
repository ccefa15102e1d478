// Package grants parses MySQL's and MariaDB's SHOW GRANTS, for the checks
// that a user may do what Syncline needs: precheck's checks of the source
// (replication, SELECT) and the MySQL target's check of its privileges
// (internal/target/mysql).
package grants

import (
	"context"
	"slices"
	"strings"
)

// Grant is one line of SHOW GRANTS that grants privileges on an object.
type Grant struct {
	privs map[string]bool // upper case, e.g. "SELECT", "REPLICATION SLAVE"; column-level ones are left out
	db    string          // "*" for every database; else a LIKE pattern for database-level grants, a name for table-level ones
	table string          // "*" for every table
}

// Has reports whether the grant gives one of privs (ALL included).
func (g Grant) Has(privs ...string) bool {
	if g.privs["ALL"] || g.privs["ALL PRIVILEGES"] {
		return true
	}
	for _, p := range privs {
		if g.privs[p] {
			return true
		}
	}
	return false
}

// Global reports whether the grant is on *.*.
func (g Grant) Global() bool { return g.db == "*" }

// CoversDB reports whether the grant is on every table of db.
func (g Grant) CoversDB(db string) bool {
	return g.db == "*" || g.table == "*" && likeMatch(g.db, db)
}

// CoversTable reports whether the grant is on db.table.
func (g Grant) CoversTable(db, table string) bool {
	return g.CoversDB(db) || g.table == table && g.db == db
}

// Set is the parsed output of SHOW GRANTS.
type Set struct {
	list     []Grant
	hasRoles bool // some line grants a role, whose privileges are not counted
}

// Any reports whether some grant on an object accepted by on gives one of
// privs.
func (gs Set) Any(on func(Grant) bool, privs ...string) bool {
	return slices.ContainsFunc(gs.list, func(g Grant) bool { return on(g) && g.Has(privs...) })
}

// Len is the number of grants on objects.
func (gs Set) Len() int { return len(gs.list) }

// RoleNote is added to a fix when some privileges may come through roles.
func (gs Set) RoleNote() string {
	if gs.hasRoles {
		return " (privileges granted through roles are not counted: if a role grants them, ignore this)"
	}
	return ""
}

// Read runs SHOW GRANTS through q (a query on a MySQL connection, rows as
// strings) and parses it.
func Read(ctx context.Context, q func(context.Context, string) ([][]string, error)) (Set, error) {
	rows, err := q(ctx, "SHOW GRANTS")
	if err != nil {
		return Set{}, err
	}
	var gs Set
	for _, row := range rows {
		if len(row) == 0 {
			continue
		}
		g, ok := parseGrant(row[0])
		if !ok {
			if isRoleGrant(row[0]) {
				gs.hasRoles = true
			}
			continue
		}
		gs.list = append(gs.list, g)
	}
	return gs, nil
}

// isRoleGrant reports whether a SHOW GRANTS line grants a role (it has no
// ON clause).
func isRoleGrant(line string) bool {
	return strings.HasPrefix(strings.ToUpper(line), "GRANT ") && findTopLevel(line, " ON ") < 0
}

// parseGrant parses "GRANT <privileges> ON <db>.<table> TO ...". Lines
// that grant roles, proxy rights or routine privileges give ok false.
func parseGrant(line string) (g Grant, ok bool) {
	const prefix = "GRANT "
	if !strings.HasPrefix(strings.ToUpper(line), prefix) {
		return Grant{}, false
	}
	rest := line[len(prefix):]
	on := findTopLevel(rest, " ON ")
	if on < 0 {
		return Grant{}, false
	}
	privText, object := rest[:on], rest[on+len(" ON "):]
	if to := findTopLevel(object, " TO "); to >= 0 {
		object = object[:to]
	}
	object = strings.TrimSpace(object)
	upperObject := strings.ToUpper(object)
	switch {
	case strings.HasPrefix(upperObject, "TABLE "):
		object = strings.TrimSpace(object[len("TABLE "):])
	case strings.HasPrefix(upperObject, "PROCEDURE "), strings.HasPrefix(upperObject, "FUNCTION "),
		strings.HasPrefix(upperObject, "PACKAGE "), strings.HasPrefix(strings.ToUpper(privText), "PROXY"):
		return Grant{}, false
	}
	db, table, ok := splitObject(object)
	if !ok {
		return Grant{}, false
	}
	g = Grant{privs: make(map[string]bool), db: db, table: table}
	for _, p := range splitTopLevel(privText, ',') {
		p = strings.TrimSpace(p)
		if strings.Contains(p, "(") {
			continue // column-level: not enough for a whole table
		}
		g.privs[strings.Join(strings.Fields(strings.ToUpper(p)), " ")] = true
	}
	return g, true
}

// splitObject splits `db`.`table`, db.*, *.* into its parts, unquoted.
func splitObject(object string) (db, table string, ok bool) {
	parts := splitTopLevel(object, '.')
	if len(parts) != 2 {
		return "", "", false
	}
	return unquoteIdent(parts[0]), unquoteIdent(parts[1]), true
}

// unquoteIdent removes backticks (or quotes), undoubling inner ones.
func unquoteIdent(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 {
		for _, q := range []string{"`", "'", `"`} {
			if strings.HasPrefix(s, q) && strings.HasSuffix(s, q) {
				return strings.ReplaceAll(s[1:len(s)-1], q+q, q)
			}
		}
	}
	return s
}

// findTopLevel returns the index of sep (case-insensitive) in s outside
// quotes and parentheses, or -1.
func findTopLevel(s, sep string) int {
	upper := strings.ToUpper(s)
	sep = strings.ToUpper(sep)
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '`' || c == '\'' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0 && strings.HasPrefix(upper[i:], sep):
			return i
		}
	}
	return -1
}

// splitTopLevel splits s at sep outside quotes and parentheses.
func splitTopLevel(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '`' || c == '\'' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// likeMatch matches s against a database name pattern of a grant: % any
// run, _ one character, \ escapes.
func likeMatch(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch c := pattern[0]; {
	case c == '%':
		for i := 0; i <= len(s); i++ {
			if likeMatch(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case c == '_':
		return s != "" && likeMatch(pattern[1:], s[1:])
	case c == '\\' && len(pattern) > 1:
		return s != "" && s[0] == pattern[1] && likeMatch(pattern[2:], s[1:])
	default:
		return s != "" && s[0] == c && likeMatch(pattern[1:], s[1:])
	}
}

// QuoteAccount turns user@host (as CURRENT_USER() gives it) into
// 'user'@'host' for GRANT statements.
func QuoteAccount(account string) string {
	user, host, ok := strings.Cut(account, "@")
	if !ok {
		return "'" + account + "'"
	}
	return "'" + user + "'@'" + host + "'"
}
