package rules

import (
	"fmt"
	"strings"
)

// Op is one kind of source operation.
type Op uint8

// The operations. Each is one bit, so that a set of them fits an Ops.
const (
	Insert Op = 1 << iota
	Update
	Delete
	DDL
)

// opNames are the names of the operations in bit order, as ParseOps reads
// them and Ops.String writes them.
var opNames = [...]struct {
	op   Op
	name string
}{
	{Insert, "insert"},
	{Update, "update"},
	{Delete, "delete"},
	{DDL, "ddl"},
}

// String returns the operation's name: "insert", "update", "delete" or
// "ddl".
func (o Op) String() string {
	for _, n := range opNames {
		if n.op == o {
			return n.name
		}
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// Ops is a set of operations; the zero value means all of them.
type Ops uint8

// ParseOps parses operation names "insert", "update", "delete" and "ddl"
// (case-insensitive, surrounding spaces ignored) into a set. An unknown name
// is an error naming it and the valid ones. An empty list returns 0, which
// means all operations.
func ParseOps(names []string) (Ops, error) {
	var o Ops
	for _, name := range names {
		op, ok := opByName(strings.TrimSpace(name))
		if !ok {
			return 0, fmt.Errorf("unknown operation %q (valid: insert, update, delete, ddl)", name)
		}
		o |= Ops(op)
	}
	return o, nil
}

func opByName(name string) (Op, bool) {
	for _, n := range opNames {
		if strings.EqualFold(n.name, name) {
			return n.op, true
		}
	}
	return 0, false
}

// Has reports whether op is in the set. Every operation is in the zero set.
func (o Ops) Has(op Op) bool { return o == 0 || o&Ops(op) != 0 }

// String returns the names of the operations in the set joined by commas
// in the order insert, update, delete, ddl (for example "insert,update"),
// or "all" for the zero set.
func (o Ops) String() string {
	if o == 0 {
		return "all"
	}
	var b strings.Builder
	for _, n := range opNames {
		if o&Ops(n.op) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n.name)
	}
	if rest := o &^ (Ops(Insert) | Ops(Update) | Ops(Delete) | Ops(DDL)); rest != 0 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "ops(%#x)", uint8(rest))
	}
	return b.String()
}
