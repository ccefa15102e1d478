package postgres

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/syncline/syncline/schema"
)

// errBadValue is wrapped by the errors for values that cannot be written;
// they are final, not retried.
var errBadValue = errors.New("value cannot be written")

// columnType returns the PostgreSQL type of a source column type, spelled
// as format_type prints it, so that the catalog can be compared with it.
// docs/targets.md lists the mapping.
func columnType(t schema.Type) string {
	switch k := t.Kind; {
	case k == schema.TinyInt, k == schema.SmallInt && !t.Unsigned, k == schema.Year:
		return "smallint"
	case k == schema.SmallInt, k == schema.MediumInt, k == schema.Int && !t.Unsigned:
		return "integer"
	case k == schema.Int, k == schema.BigInt && !t.Unsigned:
		return "bigint"
	case k == schema.BigInt:
		return "numeric(20,0)"
	case k == schema.Decimal:
		return fmt.Sprintf("numeric(%d,%d)", t.Precision, t.Scale)
	case k == schema.Float:
		return "real"
	case k == schema.Double:
		return "double precision"
	case k == schema.Bit:
		return fmt.Sprintf("bit(%d)", max(t.Length, 1))
	case k == schema.Char, k == schema.VarChar:
		return fmt.Sprintf("character varying(%d)", max(t.Length, 1))
	case k.IsText(), k == schema.Enum, k == schema.Set:
		return "text"
	case k == schema.JSON:
		return "jsonb"
	case k.IsBinary(), k.IsGeometry():
		return "bytea"
	case k == schema.Date:
		return "date"
	case k == schema.DateTime:
		return fmt.Sprintf("timestamp(%d) without time zone", t.Precision)
	case k == schema.Timestamp:
		return fmt.Sprintf("timestamp(%d) with time zone", t.Precision)
	case k == schema.Time:
		return "interval"
	case k == schema.UUID:
		return "uuid"
	case k == schema.Inet4, k == schema.Inet6:
		return "inet"
	}
	return "text"
}

// Kind is the family of a PostgreSQL column type: what the sink converts
// change values into for the column, and what verify scans the column's
// values back as.
type Kind int

// The families of column types.
const (
	KindText Kind = iota
	KindInt
	KindNumeric
	KindReal
	KindDouble
	KindBit
	KindBytea
	KindJSON
	KindDate
	KindTimestamp
	KindTimestamptz
	KindInterval
	KindUUID
	KindInet
)

// KindOf classifies a column type as PostgreSQL's format_type prints it.
func KindOf(formatType string) Kind {
	switch typ := formatType; {
	case typ == "smallint", typ == "integer", typ == "bigint":
		return KindInt
	case strings.HasPrefix(typ, "numeric"):
		return KindNumeric
	case typ == "real":
		return KindReal
	case typ == "double precision":
		return KindDouble
	case strings.HasPrefix(typ, "bit"):
		return KindBit
	case typ == "bytea":
		return KindBytea
	case typ == "jsonb", typ == "json":
		return KindJSON
	case typ == "date":
		return KindDate
	case strings.HasPrefix(typ, "timestamp") && strings.HasSuffix(typ, "with time zone") && !strings.HasSuffix(typ, "without time zone"):
		return KindTimestamptz
	case strings.HasPrefix(typ, "timestamp"):
		return KindTimestamp
	case strings.HasPrefix(typ, "interval"):
		return KindInterval
	case typ == "uuid":
		return KindUUID
	case typ == "inet":
		return KindInet
	}
	return KindText
}

// isFloat reports whether the family is real or double precision.
func (k Kind) isFloat() bool { return k == KindReal || k == KindDouble }

// bitLength returns n of bit(n).
func bitLength(pgType string) int {
	open, closing := strings.IndexByte(pgType, '('), strings.IndexByte(pgType, ')')
	if open < 0 || closing < open {
		return 0
	}
	n, _ := strconv.Atoi(pgType[open+1 : closing])
	return n
}

// arg converts a change value (apply.Change's Go types) into a value pgx
// encodes for a column of format_type pgType.
func arg(v any, pgType string) (any, error) {
	return convert(v, KindOf(pgType), pgType)
}

// convert is arg for a column whose kind k is KindOf(pgType).
func convert(v any, k Kind, pgType string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch x := v.(type) {
	case int32:
		switch k {
		case KindInt, KindReal, KindDouble:
			return int64(x), nil
		case KindNumeric:
			return pgtype.Numeric{Int: big.NewInt(int64(x)), Valid: true}, nil
		}
		return strconv.FormatInt(int64(x), 10), nil
	case int64:
		switch k {
		case KindInt, KindReal, KindDouble:
			return x, nil
		case KindNumeric:
			return pgtype.Numeric{Int: big.NewInt(x), Valid: true}, nil
		case KindInterval:
			return pgtype.Interval{Microseconds: x, Valid: true}, nil
		}
		return strconv.FormatInt(x, 10), nil
	case float32:
		if k.isFloat() {
			return x, nil
		}
		return strconv.FormatFloat(float64(x), 'g', -1, 32), nil
	case float64:
		if k.isFloat() {
			return x, nil
		}
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case *big.Rat:
		if k == KindNumeric || k == KindInt || k.isFloat() {
			n, err := numeric(x)
			if err != nil {
				return nil, err
			}
			if k == KindNumeric {
				return n, nil
			}
		}
		return x.FloatString(ratScale(x)), nil
	case string:
		switch k {
		case KindUUID:
			return parseUUID(x)
		case KindInet:
			a, err := netip.ParseAddr(x)
			if err != nil {
				return nil, fmt.Errorf("%w: %q is not an IP address", errBadValue, x)
			}
			return netip.PrefixFrom(a, a.BitLen()), nil
		}
		if strings.IndexByte(x, 0) >= 0 {
			return nil, fmt.Errorf("%w: PostgreSQL text cannot hold the NUL character", errBadValue)
		}
		return x, nil
	case []byte:
		if k == KindBit {
			return bits(x, bitLength(pgType))
		}
		if k == KindBytea {
			return x, nil
		}
		return nil, fmt.Errorf("%w: binary value for a %s column", errBadValue, pgType)
	case time.Time:
		zero := schema.IsZeroDate(x)
		switch k {
		case KindDate:
			if zero {
				return pgtype.Date{InfinityModifier: pgtype.NegativeInfinity, Valid: true}, nil
			}
			return pgtype.Date{Time: x, Valid: true}, nil
		case KindTimestamp:
			if zero {
				return pgtype.Timestamp{InfinityModifier: pgtype.NegativeInfinity, Valid: true}, nil
			}
			return pgtype.Timestamp{Time: x.UTC(), Valid: true}, nil
		case KindTimestamptz:
			if zero {
				return pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}, nil
			}
			return pgtype.Timestamptz{Time: x, Valid: true}, nil
		}
		if zero {
			return "0000-00-00 00:00:00", nil
		}
		return x.UTC().Format("2006-01-02 15:04:05.999999"), nil
	}
	return nil, fmt.Errorf("%w: unexpected %T for a %s column", errBadValue, v, pgType)
}

// arrayType returns the array type that binds a whole column of values of
// a column of format_type pgType as one parameter, named without type
// modifier so that a cast to it never cuts or rounds a value (bit[] would
// be bit(1)[]: the pg_catalog names are used). It returns "" for the types
// whose values convert does not always produce in one Go type that pgx
// encodes in binary (those batches take the statement-per-rows path).
func arrayType(pgType string) string {
	base, _, _ := strings.Cut(pgType, "(")
	var name string
	switch {
	case pgType == "smallint":
		name = "int2"
	case pgType == "integer":
		name = "int4"
	case pgType == "bigint":
		name = "int8"
	case base == "numeric":
		name = "numeric"
	case pgType == "real":
		name = "float4"
	case pgType == "double precision":
		name = "float8"
	case base == "bit":
		name = "bit"
	case base == "bit varying":
		name = "varbit"
	case base == "character varying":
		name = "varchar"
	case base == "character":
		name = "bpchar"
	case pgType == "text":
		name = "text"
	case pgType == "bytea":
		name = "bytea"
	case pgType == "jsonb":
		name = "jsonb"
	case pgType == "json":
		name = "json"
	case pgType == "date":
		name = "date"
	case strings.HasPrefix(pgType, "timestamp") && strings.HasSuffix(pgType, " without time zone"):
		name = "timestamp"
	case strings.HasPrefix(pgType, "timestamp") && strings.HasSuffix(pgType, " with time zone"):
		name = "timestamptz"
	case strings.HasPrefix(pgType, "interval"):
		name = "interval"
	case pgType == "uuid":
		name = "uuid"
	case pgType == "inet":
		name = "inet"
	default:
		return ""
	}
	return `"pg_catalog".` + quote(name) + "[]"
}

// isNatural reports whether v, a value convert returned for a column of kind
// k, has the Go type pgx encodes in binary for that kind. Others (a string
// for an integer column, after a type change skipped by --skip-ddl) are
// bound as text by the statement-per-rows path, which PostgreSQL parses.
func isNatural(k Kind, v any) bool {
	switch v.(type) {
	case nil:
		return true
	case int64:
		return k == KindInt
	case float32, float64:
		return k.isFloat()
	case pgtype.Numeric:
		return k == KindNumeric
	case string:
		return k == KindText || k == KindJSON
	case pgtype.Bits:
		return k == KindBit
	case []byte:
		return k == KindBytea
	case pgtype.Date:
		return k == KindDate
	case pgtype.Timestamp:
		return k == KindTimestamp
	case pgtype.Timestamptz:
		return k == KindTimestamptz
	case pgtype.Interval:
		return k == KindInterval
	case pgtype.UUID:
		return k == KindUUID
	case netip.Prefix:
		return k == KindInet
	}
	return false
}

// parseUUID reads a UUID in its canonical text form (hex digits, with or
// without dashes).
func parseUUID(s string) (pgtype.UUID, error) {
	var u pgtype.UUID
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' {
			continue
		}
		d, ok := hexDigit(c)
		if !ok || n >= 32 {
			return u, fmt.Errorf("%w: %q is not a UUID", errBadValue, s)
		}
		u.Bytes[n/2] |= d << (4 * (1 - n%2))
		n++
	}
	if n != 32 {
		return u, fmt.Errorf("%w: %q is not a UUID", errBadValue, s)
	}
	u.Valid = true
	return u, nil
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// numeric converts an exact decimal fraction.
func numeric(r *big.Rat) (pgtype.Numeric, error) {
	s := ratScale(r)
	if s > 1000 {
		return pgtype.Numeric{}, fmt.Errorf("%w: %s is not a decimal fraction", errBadValue, r.String())
	}
	n := new(big.Int).Mul(r.Num(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(s)), nil))
	n.Quo(n, r.Denom())
	return pgtype.Numeric{Int: n, Exp: int32(-s), Valid: true}, nil
}

// ratScale returns the number of decimal digits of an exact decimal
// fraction; more than 1000 when it is not one.
func ratScale(r *big.Rat) int {
	num := new(big.Int).Abs(r.Num())
	m := new(big.Int)
	ten := big.NewInt(10)
	for s := 0; s <= 1000; s++ {
		if m.Mod(num, r.Denom()).Sign() == 0 {
			return s
		}
		num.Mul(num, ten)
	}
	return 1001
}

// bits turns a BIT value (big-endian, right-aligned in ceil(n/8) bytes)
// into PostgreSQL's bit(n) (left-aligned).
func bits(b []byte, n int) (pgtype.Bits, error) {
	if n <= 0 {
		n = 8 * len(b)
	}
	v := new(big.Int).SetBytes(b)
	if v.BitLen() > n {
		return pgtype.Bits{}, fmt.Errorf("%w: bit value of %d bits for bit(%d)", errBadValue, v.BitLen(), n)
	}
	size := (n + 7) / 8
	v.Lsh(v, uint(8*size-n))
	out := make([]byte, size)
	v.FillBytes(out)
	return pgtype.Bits{Bytes: out, Len: int32(n), Valid: true}, nil
}
