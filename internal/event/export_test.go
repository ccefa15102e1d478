package event

import "github.com/syncline/syncline/schema"

// What the external tests (package event_test) see of the Encoder's
// internals: the compiled column encoders and the decimal helpers.

// ColEnc is the compiled encoder of one column.
type ColEnc = colEnc

// The ops of ColEnc.Op.
const (
	OpInt       = opInt
	OpLong      = opLong
	OpDecimal   = opDecimal
	OpFloat     = opFloat
	OpDouble    = opDouble
	OpString    = opString
	OpBytes     = opBytes
	OpDate      = opDate
	OpTimestamp = opTimestamp
	OpLocalTime = opLocalTime
)

// Op returns how the column is encoded.
func (c colEnc) Op() op { return c.op }

// Nullable reports whether the column is nullable.
func (c colEnc) Nullable() bool { return c.nullable }

// Prec and Scale are a decimal column's precision and scale.
func (c colEnc) Prec() int  { return c.prec }
func (c colEnc) Scale() int { return c.scale }

// ColEncOf returns the compiled encoder of one column of type typ.
func ColEncOf(typ schema.Type) ColEnc {
	e, err := NewEncoder(schema.Table{Name: "t", Key: []string{"c"}, Columns: []schema.Column{{Name: "c", Type: typ}}})
	if err != nil {
		panic(err)
	}
	return e.cols[0]
}

// AppendDecimal is appendDecimal.
var AppendDecimal = appendDecimal

// Pow10Big is pow10Big.
var Pow10Big = pow10Big

// EncoderColumn returns the compiled encoder of column i of e.
func EncoderColumn(e *Encoder, i int) ColEnc { return e.cols[i] }
