package schema

import "strings"

// SelectList returns the select list mysqlvalue.TextValues expects, in table order:
// identifiers quoted with backticks (backticks doubled), TIMESTAMP columns as
// UNIX_TIMESTAMP(`col`) and FLOAT columns as CAST(`col` AS DOUBLE), each
// expression named after its column.
func (t Table) SelectList() string {
	var b strings.Builder
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		q := QuoteIdent(c.Name)
		switch c.Type.Kind {
		case Timestamp:
			b.WriteString("UNIX_TIMESTAMP(" + q + ") AS " + q)
		case Float:
			b.WriteString("CAST(" + q + " AS DOUBLE) AS " + q)
		default:
			b.WriteString(q)
		}
	}
	return b.String()
}

// QuoteIdent quotes a MySQL identifier with backticks, doubling backticks.
func QuoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}
