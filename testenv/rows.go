package testenv

import "database/sql"

// ScanStrings scans the current row of rows (after rows.Next) with every
// column as text: one string per column, nil for NULL.
func ScanStrings(rows *sql.Rows) ([]*string, error) {
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	row := make([]*string, len(cols))
	for i, v := range vals {
		if v.Valid {
			s := v.String
			row[i] = &s
		}
	}
	return row, nil
}
