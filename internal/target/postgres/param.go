package postgres

// Param converts a value in apply.Change's Go types into the value pgx
// binds for a column whose type format_type prints as pgType: the same
// form Write sends, so a reader that looks rows up by key (syncline verify)
// matches exactly what apply wrote.
func Param(v any, pgType string) (any, error) { return arg(v, pgType) }
