package verifyread

import (
	"fmt"
	"math/big"
	"net/netip"
	"time"

	"github.com/syncline/syncline/schema"
)

// Conversions shared by the target readers: a number as a target stores it,
// back into the comparison domain of the source column's type t.

// IntegerValue maps an integer to the Go type of an integer, YEAR, DECIMAL
// or BIT column of type t.
func IntegerValue(n *big.Int, t schema.Type) (any, error) {
	switch k := t.Kind; {
	case k == schema.BigInt && t.Unsigned, k == schema.Decimal:
		return new(big.Rat).SetInt(n), nil
	case k == schema.Bit:
		return BitBytes(n, t)
	case !n.IsInt64():
		return nil, fmt.Errorf("%s is out of the range of a %s", n, t)
	case k == schema.BigInt, k == schema.Int && t.Unsigned, k == schema.Time, k == schema.DateTime:
		return n.Int64(), nil
	case k.IsInteger(), k == schema.Year:
		return int32(n.Int64()), nil
	}
	return nil, fmt.Errorf("an integer for a %s column", t)
}

// FloatValue maps a float to a FLOAT or DOUBLE column's Go type.
func FloatValue(f float64, t schema.Type) any {
	if t.Kind == schema.Float {
		return float32(f)
	}
	return f
}

// BitBytes renders a BIT(n) value as capture does: big-endian in
// ceil(n/8) bytes.
func BitBytes(v *big.Int, t schema.Type) ([]byte, error) {
	size := (t.Length + 7) / 8
	if v.Sign() < 0 || v.BitLen() > 8*size {
		return nil, fmt.Errorf("bit value %s does not fit a %s", v, t)
	}
	out := make([]byte, size)
	v.FillBytes(out)
	return out, nil
}

// Pow10 is 10ⁿ.
func Pow10(n int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }

// AddressValue maps the text of an IP address, as a target prints it,
// to the text MariaDB prints for the INET4 or INET6 value of type t (an
// INET6 value is always 16 bytes: an IPv4 address there is the
// IPv4-mapped one). Other types keep the text.
func AddressValue(s string, t schema.Type) (any, error) {
	if t.Kind != schema.Inet4 && t.Kind != schema.Inet6 {
		return s, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not an IP address, for an %s", s, t)
	}
	return AddrValue(a, t)
}

// AddrValue is AddressValue for a parsed address.
func AddrValue(a netip.Addr, t schema.Type) (any, error) {
	if t.Kind == schema.Inet4 {
		if !a.Is4() {
			return nil, fmt.Errorf("%s is not an IPv4 address, for an inet4", a)
		}
		b := a.As4()
		return t.FixedBinaryText(b[:])
	}
	b := a.As16()
	return t.FixedBinaryText(b[:])
}

// ToChange converts a value of the comparison domain into apply.Change's Go
// type for a column of type t: they differ only for DATETIME, which a
// Change carries as a time.Time in UTC whose wall clock is the value.
func ToChange(v any, t schema.Type) any {
	if t.Kind == schema.DateTime {
		if micros, ok := v.(int64); ok {
			return time.UnixMicro(micros).UTC()
		}
	}
	return v
}
