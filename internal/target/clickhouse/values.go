package clickhouse

import (
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// colValues holds one column's values of a batch, converted, until they are
// appended to the batch's column at once.
type colValues interface {
	// add converts a change's value (nil for NULL) and appends it.
	add(v any) error
	// addDefault appends the value of a column a row lacks: NULL where the
	// column is Nullable, else ClickHouse's default for the type.
	addDefault()
	// setStored replaces the value of row i with one read from the table
	// (as the driver scans the column).
	setStored(i int, v any) error
	// value returns the value of row i as the driver appends it.
	value(i int) any
	// appendTo appends every value to the batch's column.
	appendTo(bc driver.BatchColumn) error
}

// typedValues are the values of a column whose Go type the driver appends
// as a slice: no boxing per value, one call per column.
type typedValues[T any] struct {
	ct   chType
	conv func(v any) (T, error) // of a value other than NULL
	def  T                      // the type's default
	vals []T
	null []bool // of a Nullable column only: true where NULL
}

// newTyped returns the values of a column of Go type T: typedValues, or,
// for a LowCardinality column, anyValues around the same conversion (the
// driver appends to those value by value in any case).
func newTyped[T any](ct chType, conv func(any) (T, error), def T, capacity int) colValues {
	if ct.lowCardinality() {
		boxed := func(v any) (any, error) {
			x, err := conv(v)
			if err != nil {
				return nil, err
			}
			return x, nil
		}
		return newAny(ct, boxed, zeroValue(ct, nil), capacity)
	}
	c := &typedValues[T]{ct: ct, conv: conv, def: def, vals: make([]T, 0, capacity)}
	if ct.nullable {
		c.null = make([]bool, 0, capacity)
	}
	return c
}

func (c *typedValues[T]) add(v any) error {
	if v == nil {
		if !c.ct.nullable {
			return errNull(c.ct)
		}
		c.addDefault()
		return nil
	}
	x, err := c.conv(unbool(v, c.ct))
	if err != nil {
		return err
	}
	c.vals = append(c.vals, x)
	if c.null != nil {
		c.null = append(c.null, false)
	}
	return nil
}

func (c *typedValues[T]) addDefault() {
	c.vals = append(c.vals, c.def)
	if c.ct.nullable {
		c.null = append(c.null, true)
	}
}

func (c *typedValues[T]) setStored(i int, v any) error {
	isNull := false
	switch x := v.(type) {
	case T:
		c.vals[i] = x
	case *T:
		if x == nil {
			c.vals[i], isNull = c.def, true
		} else {
			c.vals[i] = *x
		}
	case nil:
		c.vals[i], isNull = c.def, true
	default:
		return fmt.Errorf("%w: stored value of type %T for a %s column", errBadValue, v, c.ct.full)
	}
	if c.ct.nullable {
		c.null[i] = isNull
	}
	return nil
}

func (c *typedValues[T]) value(i int) any {
	if c.ct.nullable && c.null[i] {
		return nil
	}
	return c.vals[i]
}

// appendTo appends the values as a []T, or as a []*T with nil for NULL in
// a Nullable column.
func (c *typedValues[T]) appendTo(bc driver.BatchColumn) error {
	if !c.ct.nullable {
		return bc.Append(c.vals)
	}
	ptrs := make([]*T, len(c.vals))
	for i := range c.vals {
		if !c.null[i] {
			ptrs[i] = &c.vals[i]
		}
	}
	return bc.Append(ptrs)
}

// anyValues are the values of a column appended value by value, as the
// driver converts them: types the sink does not map itself (a user's
// table), String columns of bytes (appended without a copy), FixedString,
// Bool and LowCardinality.
type anyValues struct {
	ct   chType
	conv func(v any) (any, error) // of a value other than NULL
	def  any
	vals []any
}

func newAny(ct chType, conv func(any) (any, error), def any, capacity int) *anyValues {
	return &anyValues{ct: ct, conv: conv, def: def, vals: make([]any, 0, capacity)}
}

func (c *anyValues) add(v any) error {
	if v == nil {
		if !c.ct.nullable {
			return errNull(c.ct)
		}
		c.vals = append(c.vals, nil)
		return nil
	}
	x, err := c.conv(unbool(v, c.ct))
	if err != nil {
		return err
	}
	c.vals = append(c.vals, x)
	return nil
}

func (c *anyValues) addDefault() { c.vals = append(c.vals, c.def) }

func (c *anyValues) setStored(i int, v any) error {
	c.vals[i] = v
	return nil
}

func (c *anyValues) value(i int) any { return c.vals[i] }

func (c *anyValues) appendTo(bc driver.BatchColumn) error {
	for _, v := range c.vals {
		if err := bc.AppendRow(v); err != nil {
			return err
		}
	}
	return nil
}

// errNull is the error for a NULL in a column that is not Nullable.
func errNull(ct chType) error {
	return fmt.Errorf("%w: NULL for the non-Nullable %s column", errBadValue, ct.full)
}

// unbool turns a bool (not a Change type; decoders of Avro booleans give
// it) into the int32 0 or 1, except for a Bool column.
func unbool(v any, ct chType) any {
	b, ok := v.(bool)
	if !ok || ct.family == "Bool" {
		return v
	}
	if b {
		return int32(1)
	}
	return int32(0)
}
