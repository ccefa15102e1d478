package mysql

import "github.com/syncline/syncline/schema"

// Param converts a value in apply.Change's Go types into the prepared
// statement argument the sink binds for a column of type t: the same form
// Write sends, so a reader that looks rows up by key (syncline verify)
// matches exactly what apply wrote.
func Param(v any, t schema.Type) (any, error) { return arg(v, t) }
