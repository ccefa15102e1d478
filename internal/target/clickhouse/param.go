package clickhouse

import "github.com/syncline/syncline/schema"

// Param converts a value in apply.Change's Go types, of a source column of
// type src, into the value the driver appends to a column of ClickHouse type
// chType (as system.columns or DESCRIBE prints it, Nullable allowed): the
// same conversion Write does, so a reader that sends keys in an external
// table (syncline verify) matches exactly what apply wrote.
func Param(v any, src schema.Type, chType string) (any, error) {
	return convert(v, src, parseType(chType))
}
