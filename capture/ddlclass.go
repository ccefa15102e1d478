package capture

import (
	"errors"
	"strings"
)

// stmtClass says what a logged statement can do to captured tables.
type stmtClass int

const (
	// stmtPass changes no table's columns or rows (a trigger, a grant, an
	// index, a view...): capture passes it by.
	stmtPass stmtClass = iota
	// stmtTable creates, alters, renames, truncates or drops tables.
	stmtTable
	// stmtDatabase creates or drops a database.
	stmtDatabase
	// stmtRows changes rows of tables without row events; capture cannot
	// follow it on a captured table.
	stmtRows
)

// stmtInfo is what a statement is, read from its tokens alone.
type stmtInfo struct {
	class stmtClass
	// what names the statement for logs and errors: "CREATE TRIGGER".
	what string
	// tables are the tables it acts on (stmtTable, stmtRows), qualified
	// with the session's database where the statement names none.
	tables []tableRef
	// changes is what it does (stmtTable, stmtDatabase), for when the
	// full parser cannot read it.
	changes []ddlChange
	// refuse, when set, says why capture cannot follow it on a captured
	// table.
	refuse string
	// exec is the statement with executable comments opened, for the
	// full parser.
	exec string
	// err says why the statement could not be read at all.
	err error
	// private marks account statements (users, roles, grants, servers,
	// passwords), whose text may hold a password.
	private bool
}

// classifyDDL reads a statement logged as a query event: its kind, the
// tables it acts on (unqualified names are in defaultDB, the session's
// database) and, for table and database statements, the changes it makes.
// It needs no server and copes with comments, executable comments,
// backquoted names, DEFINER clauses and MariaDB's extensions.
func classifyDDL(defaultDB, query string) stmtInfo {
	toks, exec, err := tokenize(query)
	if err != nil {
		return stmtInfo{class: stmtTable, what: "statement", err: err}
	}
	c := &cursor{toks: toks, db: defaultDB}
	info := c.statement()
	info.exec = exec
	info.private = isPrivate(info.what)
	for _, t := range toks {
		// A FEDERATED or CONNECT table's CONNECTION, a server's
		// PASSWORD option...
		if t.is("PASSWORD") || t.is("IDENTIFIED") || t.is("CONNECTION") {
			info.private = true
		}
	}
	if info.err == nil && (info.class == stmtTable || info.class == stmtRows) && len(info.tables) == 0 {
		info.err = errNoTable
	}
	return info
}

// Why a statement's names could not be read.
var (
	errNoTable    = errors.New("no table name could be read")
	errNoDatabase = errors.New("no database name could be read")
)

// cursor walks a statement's tokens.
type cursor struct {
	toks []token
	i    int
	db   string // the session's database
}

func (c *cursor) done() bool { return c.i >= len(c.toks) }

// peek reports whether the next tokens are the keywords ws.
func (c *cursor) peek(ws ...string) bool {
	if c.i+len(ws) > len(c.toks) {
		return false
	}
	for k, w := range ws {
		if !c.toks[c.i+k].is(w) {
			return false
		}
	}
	return true
}

// accept consumes the keywords ws if they come next.
func (c *cursor) accept(ws ...string) bool {
	if !c.peek(ws...) {
		return false
	}
	c.i += len(ws)
	return true
}

// punct consumes the punctuation p if it comes next.
func (c *cursor) punct(p string) bool {
	if c.done() || c.toks[c.i].kind != tokPunct || c.toks[c.i].text != p {
		return false
	}
	c.i++
	return true
}

// word consumes and returns the next token's text in upper case.
func (c *cursor) word() string {
	if c.done() {
		return ""
	}
	t := c.toks[c.i]
	c.i++
	if t.kind != tokWord {
		return ""
	}
	return strings.ToUpper(t.text)
}

// ident consumes a name. A double-quoted string stands for one where a
// name must be: a session with sql_mode ANSI_QUOTES quotes names so.
func (c *cursor) ident() (string, bool) {
	if c.done() {
		return "", false
	}
	t := c.toks[c.i]
	switch {
	case t.name():
		c.i++
		return t.text, true
	case t.kind == tokString && t.text[0] == '"':
		c.i++
		return strings.ReplaceAll(t.text[1:len(t.text)-1], `""`, `"`), true
	}
	return "", false
}

// table consumes a table name, qualified or not.
func (c *cursor) table() (tableRef, bool) {
	first, ok := c.ident()
	if !ok {
		return tableRef{}, false
	}
	if c.punct(".") {
		second, ok := c.ident()
		if !ok {
			return tableRef{}, false
		}
		return tableRef{first, second}, true
	}
	return tableRef{c.db, first}, true
}

// value consumes "= value" or "value" (an option's value).
func (c *cursor) value() {
	c.punct("=")
	if !c.done() {
		c.i++
	}
}

// user consumes "= user" as DEFINER writes it: CURRENT_USER, CURRENT_USER(),
// name, name@host, with each part quoted or not.
func (c *cursor) user() {
	c.value()
	if c.punct("(") {
		c.punct(")")
	}
	if c.punct("@") && !c.done() {
		c.i++
	}
}

// wait consumes MariaDB's WAIT n or NOWAIT.
func (c *cursor) wait() {
	switch {
	case c.accept("NOWAIT"):
	case c.accept("WAIT"):
		c.i++
	}
}

// modifiers consumes what may stand between CREATE or ALTER and the kind
// of object; it reports OR REPLACE and TEMPORARY.
func (c *cursor) modifiers() (orReplace, temporary bool) {
	for !c.done() {
		switch {
		case c.accept("OR", "REPLACE"):
			orReplace = true
		case c.accept("TEMPORARY"):
			temporary = true
		case c.accept("DEFINER"):
			c.user()
		case c.accept("ALGORITHM"):
			c.value()
		case c.accept("SQL", "SECURITY"):
			c.i++
		case c.accept("ONLINE"), c.accept("OFFLINE"), c.accept("IGNORE"), c.accept("UNIQUE"),
			c.accept("FULLTEXT"), c.accept("SPATIAL"), c.accept("AGGREGATE"), c.accept("NONATOMIC"):
		default:
			return orReplace, temporary
		}
	}
	return orReplace, temporary
}

// statement reads the whole statement.
func (c *cursor) statement() stmtInfo {
	verb := c.word()
	switch verb {
	case "CREATE":
		return c.create()
	case "ALTER":
		return c.alter()
	case "DROP":
		return c.drop()
	case "RENAME":
		if c.accept("TABLE") || c.accept("TABLES") {
			return c.rename()
		}
	case "TRUNCATE":
		c.accept("TABLE")
		t, ok := c.table()
		if !ok {
			return stmtInfo{class: stmtTable, what: "TRUNCATE TABLE"}
		}
		return stmtInfo{class: stmtTable, what: "TRUNCATE TABLE", tables: []tableRef{t},
			changes: []ddlChange{{kind: ddlTruncateTable, db: t.db, table: t.name}}}
	case "INSERT", "REPLACE", "UPDATE", "DELETE", "LOAD":
		return c.rows(verb)
	}
	return stmtInfo{class: stmtPass, what: strings.TrimSpace(verb + " " + c.word())}
}

func (c *cursor) create() stmtInfo {
	orReplace, temporary := c.modifiers()
	obj := c.word()
	switch obj {
	case "TABLE":
		if temporary {
			// Temporary tables have no rows in a ROW binlog; a
			// temporary table that shadows a captured one must not
			// change what capture follows.
			return stmtInfo{class: stmtPass, what: "CREATE TEMPORARY TABLE"}
		}
		c.accept("IF", "NOT", "EXISTS")
		t, ok := c.table()
		info := stmtInfo{class: stmtTable, what: "CREATE TABLE"}
		if !ok {
			return info
		}
		info.tables = []tableRef{t}
		if orReplace {
			info.what = "CREATE OR REPLACE TABLE"
			info.changes = append(info.changes, ddlChange{kind: ddlDropTable, db: t.db, table: t.name})
		}
		info.changes = append(info.changes, ddlChange{kind: ddlCreateTable, db: t.db, table: t.name})
		return info
	case "DATABASE", "SCHEMA":
		c.accept("IF", "NOT", "EXISTS")
		db, ok := c.ident()
		info := stmtInfo{class: stmtDatabase, what: "CREATE DATABASE"}
		if !ok {
			info.err = errNoDatabase
			return info
		}
		if orReplace {
			info.changes = append(info.changes, ddlChange{kind: ddlDropDatabase, db: db})
		}
		info.changes = append(info.changes, ddlChange{kind: ddlCreateDatabase, db: db})
		return info
	}
	// VIEW, TRIGGER, PROCEDURE, FUNCTION, EVENT, INDEX, SEQUENCE, USER,
	// ROLE, SERVER, PACKAGE, TABLESPACE...
	return stmtInfo{class: stmtPass, what: strings.TrimSpace("CREATE " + obj)}
}

func (c *cursor) alter() stmtInfo {
	c.modifiers()
	obj := c.word()
	if obj != "TABLE" {
		// DATABASE, VIEW, EVENT, FUNCTION, PROCEDURE, USER, SERVER,
		// SEQUENCE, TABLESPACE...
		return stmtInfo{class: stmtPass, what: strings.TrimSpace("ALTER " + obj)}
	}
	c.accept("IF", "EXISTS")
	t, ok := c.table()
	info := stmtInfo{class: stmtTable, what: "ALTER TABLE"}
	if !ok {
		return info
	}
	info.tables = []tableRef{t}
	c.wait()
	for _, op := range []string{"ANALYZE", "CHECK", "OPTIMIZE", "REPAIR", "REBUILD"} {
		if c.peek(op, "PARTITION") {
			// Maintenance of partitions, like ANALYZE TABLE: it
			// stands alone and changes no column or row.
			return stmtInfo{class: stmtPass, what: "ALTER TABLE " + op + " PARTITION"}
		}
	}
	alter := ddlChange{kind: ddlAlterTable, db: t.db, table: t.name, renamed: map[string]string{}}
	var rename *ddlChange
	for _, spec := range c.specs() {
		s := &cursor{toks: spec, db: c.db}
		switch {
		case s.accept("RENAME", "COLUMN"):
			s.accept("IF", "EXISTS")
			old, ok1 := s.ident()
			s.accept("TO")
			nw, ok2 := s.ident()
			if ok1 && ok2 {
				alter.renamed[old] = nw
			}
		case s.accept("RENAME", "INDEX"), s.accept("RENAME", "KEY"):
		case s.accept("RENAME"):
			_ = s.accept("TO") || s.accept("AS") || s.punct("=")
			if n, ok := s.table(); ok {
				rename = &ddlChange{kind: ddlRenameTable, db: t.db, table: t.name, newDB: n.db, newTable: n.name}
				info.tables = append(info.tables, n)
			}
		case s.accept("CHANGE"):
			s.accept("COLUMN")
			s.accept("IF", "EXISTS")
			old, ok1 := s.ident()
			nw, ok2 := s.ident()
			if ok1 && ok2 && !strings.EqualFold(old, nw) {
				alter.renamed[old] = nw
			}
		case s.accept("EXCHANGE", "PARTITION"):
			s.ident()
			s.accept("WITH", "TABLE")
			if n, ok := s.table(); ok {
				info.tables = append(info.tables, n)
			}
			info.refuse = "EXCHANGE PARTITION swaps rows between tables without row events"
		case s.accept("CONVERT", "PARTITION"):
			s.ident()
			s.accept("TO", "TABLE")
			if n, ok := s.table(); ok {
				info.tables = append(info.tables, n)
			}
			info.refuse = "CONVERT PARTITION moves a partition's rows into another table without row events"
		case s.accept("CONVERT", "TABLE"):
			if n, ok := s.table(); ok {
				info.tables = append(info.tables, n)
			}
			info.refuse = "CONVERT TABLE ... TO PARTITION moves a table's rows into another without row events"
		}
	}
	info.changes = append(info.changes, alter)
	if rename != nil {
		info.changes = append(info.changes, *rename)
	}
	return info
}

// specs splits the rest of an ALTER TABLE statement at its top-level
// commas.
func (c *cursor) specs() [][]token {
	var out [][]token
	depth, from := 0, c.i
	for ; c.i < len(c.toks); c.i++ {
		t := c.toks[c.i]
		if t.kind != tokPunct {
			continue
		}
		switch t.text {
		case "(":
			depth++
		case ")":
			depth--
		case ",":
			if depth == 0 {
				out = append(out, c.toks[from:c.i])
				from = c.i + 1
			}
		}
	}
	return append(out, c.toks[from:])
}

func (c *cursor) drop() stmtInfo {
	_, temporary := c.modifiers()
	obj := c.word()
	switch {
	case (obj == "TABLE" || obj == "TABLES") && temporary:
		return stmtInfo{class: stmtPass, what: "DROP TEMPORARY TABLE"}
	case obj == "TABLE" || obj == "TABLES":
		c.accept("IF", "EXISTS")
		info := stmtInfo{class: stmtTable, what: "DROP TABLE"}
		for {
			t, ok := c.table()
			if !ok {
				return stmtInfo{class: stmtTable, what: "DROP TABLE"}
			}
			info.tables = append(info.tables, t)
			info.changes = append(info.changes, ddlChange{kind: ddlDropTable, db: t.db, table: t.name})
			if !c.punct(",") {
				return info
			}
		}
	case obj == "DATABASE" || obj == "SCHEMA":
		c.accept("IF", "EXISTS")
		db, ok := c.ident()
		info := stmtInfo{class: stmtDatabase, what: "DROP DATABASE"}
		if !ok {
			info.err = errNoDatabase
			return info
		}
		info.changes = []ddlChange{{kind: ddlDropDatabase, db: db}}
		return info
	}
	return stmtInfo{class: stmtPass, what: strings.TrimSpace("DROP " + obj)}
}

func (c *cursor) rename() stmtInfo {
	c.accept("IF", "EXISTS")
	info := stmtInfo{class: stmtTable, what: "RENAME TABLE"}
	for {
		from, ok1 := c.table()
		c.wait()
		ok2 := c.accept("TO")
		to, ok3 := c.table()
		if !ok1 || !ok2 || !ok3 {
			return stmtInfo{class: stmtTable, what: "RENAME TABLE"}
		}
		info.tables = append(info.tables, from, to)
		info.changes = append(info.changes, ddlChange{kind: ddlRenameTable, db: from.db, table: from.name, newDB: to.db, newTable: to.name})
		if !c.punct(",") {
			return info
		}
	}
}

// rows reads a data statement logged as SQL: the source logged its rows
// without row events (a session with binlog_format=STATEMENT or MIXED, or
// the server emptying a MEMORY table at start).
func (c *cursor) rows(verb string) stmtInfo {
	info := stmtInfo{class: stmtRows, what: verb,
		refuse: verb + " was logged as a statement, not as row events, so capture cannot see the rows it changed"}
	switch verb {
	case "INSERT", "REPLACE", "UPDATE":
		for c.accept("LOW_PRIORITY") || c.accept("DELAYED") || c.accept("HIGH_PRIORITY") || c.accept("IGNORE") || c.accept("INTO") {
		}
	case "DELETE":
		for !c.done() && !c.accept("FROM") {
			c.i++
		}
	case "LOAD":
		for !c.done() && !c.accept("INTO", "TABLE") {
			c.i++
		}
	}
	if t, ok := c.table(); ok {
		info.tables = []tableRef{t}
	}
	return info
}

// isPrivate reports whether a statement of this kind may hold a password.
func isPrivate(what string) bool {
	verb, obj, _ := strings.Cut(what, " ")
	switch verb {
	case "GRANT", "REVOKE", "SET":
		return true
	}
	switch obj {
	case "USER", "ROLE", "SERVER":
		return true
	}
	return false
}
