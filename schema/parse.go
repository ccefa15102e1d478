package schema

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseType parses a column type: the canonical form Type.String returns,
// and information_schema.COLUMNS.COLUMN_TYPE strings such as
//
//	int(10) unsigned
//	tinyint(1)
//	decimal(10,2) unsigned zerofill
//	enum('a','b''c')
//	varchar(20)
//	datetime(3)
//	year(4)
//
// Keywords are case-insensitive; display widths, ZEROFILL and MariaDB's
// "/* mariadb-5.3 */" comments are dropped; synonyms map to their type
// (BOOL to tinyint, INTEGER to int, NUMERIC to decimal, REAL to double, ...).
// The charset is not part of the string. Types without an Avro mapping give an
// error wrapping ErrUnsupportedType that names the type.
func ParseType(s string) (Type, error) {
	p := typeParser{src: s, s: stripComments(s)}
	t, err := p.parse()
	if err != nil {
		return Type{}, err
	}
	return t, nil
}

// stripComments removes /* ... */ comments (MariaDB marks old-format
// temporal columns with "/* mariadb-5.3 */").
func stripComments(s string) string {
	for {
		i := strings.Index(s, "/*")
		if i < 0 {
			return s
		}
		j := strings.Index(s[i+2:], "*/")
		if j < 0 {
			return s[:i]
		}
		s = s[:i] + " " + s[i+2+j+2:]
	}
}

type typeParser struct {
	src string // the input, for error messages
	s   string // what is left to parse
}

func (p *typeParser) errorf(format string, args ...any) error {
	return fmt.Errorf("parse column type %q: %s", p.src, fmt.Sprintf(format, args...))
}

func (p *typeParser) unsupported() error {
	return fmt.Errorf("%w: %s", ErrUnsupportedType, strings.TrimSpace(p.src))
}

func (p *typeParser) skipSpace() {
	p.s = strings.TrimLeft(p.s, " \t\r\n")
}

// word reads the next keyword, lower-cased; "" when none.
func (p *typeParser) word() string {
	p.skipSpace()
	i := 0
	for i < len(p.s) {
		c := p.s[i]
		if c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
			i++
			continue
		}
		break
	}
	w := strings.ToLower(p.s[:i])
	p.s = p.s[i:]
	return w
}

// peekWord returns the next keyword without consuming it.
func (p *typeParser) peekWord() string {
	save := p.s
	w := p.word()
	p.s = save
	return w
}

// args reads an optional parenthesized list of integers.
func (p *typeParser) args() ([]int, error) {
	p.skipSpace()
	if !strings.HasPrefix(p.s, "(") {
		return nil, nil
	}
	end := strings.IndexByte(p.s, ')')
	if end < 0 {
		return nil, p.errorf("missing )")
	}
	inner := p.s[1:end]
	p.s = p.s[end+1:]
	var out []int
	for _, part := range strings.Split(inner, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 0 {
			return nil, p.errorf("bad length %q", strings.TrimSpace(part))
		}
		out = append(out, n)
	}
	return out, nil
}

// labels reads the parenthesized, quoted label list of ENUM or SET.
func (p *typeParser) labels() ([]string, error) {
	p.skipSpace()
	if !strings.HasPrefix(p.s, "(") {
		return nil, p.errorf("missing label list")
	}
	p.s = p.s[1:]
	var out []string
	for {
		p.skipSpace()
		if len(p.s) == 0 || (p.s[0] != '\'' && p.s[0] != '"') {
			return nil, p.errorf("expected a quoted label")
		}
		l, rest, err := unquote(p.s)
		if err != nil {
			return nil, p.errorf("%v", err)
		}
		out = append(out, l)
		p.s = rest
		p.skipSpace()
		if strings.HasPrefix(p.s, ",") {
			p.s = p.s[1:]
			continue
		}
		if strings.HasPrefix(p.s, ")") {
			p.s = p.s[1:]
			return out, nil
		}
		return nil, p.errorf("expected , or ) after label")
	}
}

// unquote reads one SQL string literal from the start of s, quoted with ' or
// ", with the quote doubled or backslash-escaped inside, and returns its value
// and the rest of s.
func unquote(s string) (string, string, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q && i+1 < len(s) && s[i+1] == q:
			b.WriteByte(q)
			i++
		case c == q:
			return b.String(), s[i+1:], nil
		case c == '\\' && i+1 < len(s):
			i++
			switch e := s[i]; e {
			case '0':
				b.WriteByte(0)
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'b':
				b.WriteByte('\b')
			case 'Z':
				b.WriteByte(0x1a)
			case '%', '_':
				b.WriteByte('\\')
				b.WriteByte(e)
			default:
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", fmt.Errorf("unterminated label %s", s)
}

func (p *typeParser) parse() (Type, error) {
	w := p.word()
	if w == "" {
		return Type{}, p.errorf("no type name")
	}
	var t Type
	switch w {
	case "tinyint", "int1", "bool", "boolean":
		t.Kind = TinyInt
	case "smallint", "int2":
		t.Kind = SmallInt
	case "mediumint", "int3", "middleint":
		t.Kind = MediumInt
	case "int", "integer", "int4":
		t.Kind = Int
	case "bigint", "int8":
		t.Kind = BigInt
	case "serial":
		t.Kind, t.Unsigned = BigInt, true
	case "decimal", "dec", "numeric", "fixed":
		t.Kind = Decimal
	case "float", "float4":
		t.Kind = Float
	case "double", "float8", "real":
		t.Kind = Double
		if w == "double" && p.peekWord() == "precision" {
			p.word()
		}
	case "bit":
		t.Kind = Bit
	case "char", "character", "nchar":
		t.Kind = Char
		if p.peekWord() == "varying" {
			p.word()
			t.Kind = VarChar
		}
	case "varchar", "nvarchar", "varchar2":
		t.Kind = VarChar
	case "binary":
		t.Kind = Binary
	case "varbinary":
		t.Kind = VarBinary
	case "tinytext":
		t.Kind = TinyText
	case "text":
		t.Kind = Text
	case "mediumtext":
		t.Kind = MediumText
	case "longtext":
		t.Kind = LongText
	case "tinyblob":
		t.Kind = TinyBlob
	case "blob":
		t.Kind = Blob
	case "mediumblob":
		t.Kind = MediumBlob
	case "longblob":
		t.Kind = LongBlob
	case "enum":
		t.Kind = Enum
	case "set":
		t.Kind = Set
	case "json":
		t.Kind = JSON
	case "date":
		t.Kind = Date
	case "time":
		t.Kind = Time
	case "datetime":
		t.Kind = DateTime
	case "timestamp":
		t.Kind = Timestamp
	case "year":
		t.Kind = Year
	case "geometry":
		t.Kind = Geometry
	case "point":
		t.Kind = Point
	case "linestring":
		t.Kind = LineString
	case "polygon":
		t.Kind = Polygon
	case "multipoint":
		t.Kind = MultiPoint
	case "multilinestring":
		t.Kind = MultiLineString
	case "multipolygon":
		t.Kind = MultiPolygon
	case "geometrycollection", "geomcollection":
		t.Kind = GeometryCollection
	case "uuid":
		t.Kind = UUID
	case "inet4":
		t.Kind = Inet4
	case "inet6":
		t.Kind = Inet6
	default:
		return Type{}, p.unsupported()
	}

	if t.Kind == Enum || t.Kind == Set {
		labels, err := p.labels()
		if err != nil {
			return Type{}, err
		}
		if t.Kind == Set && len(labels) > 64 {
			return Type{}, p.errorf("set has %d labels, at most 64 allowed", len(labels))
		}
		t.Elems = labels
	} else {
		args, err := p.args()
		if err != nil {
			return Type{}, err
		}
		if err := p.applyArgs(&t, args); err != nil {
			return Type{}, err
		}
	}

	// Trailing attributes.
	for {
		switch w := p.word(); w {
		case "":
			p.skipSpace()
			if p.s != "" {
				return Type{}, p.errorf("unexpected %q", p.s)
			}
			if !t.Kind.IsInteger() {
				t.Unsigned = false
			}
			return t, nil
		case "unsigned", "zerofill":
			if !t.Kind.IsNumeric() {
				return Type{}, p.errorf("%s on a %s column", w, t.Kind)
			}
			t.Unsigned = true
		case "signed":
			if !t.Kind.IsNumeric() {
				return Type{}, p.errorf("%s on a %s column", w, t.Kind)
			}
		default:
			return Type{}, p.errorf("unexpected %q", w)
		}
	}
}

// applyArgs checks and applies the parenthesized numbers after a type name.
func (p *typeParser) applyArgs(t *Type, args []int) error {
	n := len(args)
	switch {
	case t.Kind.IsInteger(), t.Kind == Year:
		if n > 1 {
			return p.errorf("too many arguments")
		}
		// display width: ignored
	case t.Kind == Decimal:
		t.Precision, t.Scale = 10, 0
		if n > 2 {
			return p.errorf("too many arguments")
		}
		if n >= 1 {
			t.Precision = args[0]
		}
		if n == 2 {
			t.Scale = args[1]
		}
		if t.Precision < 1 || t.Precision > 65 || t.Scale > 30 || t.Scale > t.Precision {
			return p.errorf("invalid decimal(%d,%d)", t.Precision, t.Scale)
		}
	case t.Kind == Float:
		switch n {
		case 0, 2: // float, float(M,D): single precision
		case 1: // float(p): single up to 24 bits of precision, else double
			if args[0] > 53 {
				return p.errorf("float precision %d above 53", args[0])
			}
			if args[0] > 24 {
				t.Kind = Double
			}
		default:
			return p.errorf("too many arguments")
		}
	case t.Kind == Double:
		if n != 0 && n != 2 {
			return p.errorf("double takes no or two arguments")
		}
	case t.Kind == Bit:
		t.Length = 1
		if n > 1 {
			return p.errorf("too many arguments")
		}
		if n == 1 {
			t.Length = args[0]
		}
		if t.Length < 1 || t.Length > 64 {
			return p.errorf("invalid bit(%d)", t.Length)
		}
	case t.Kind == Char, t.Kind == Binary:
		t.Length = 1
		if n > 1 {
			return p.errorf("too many arguments")
		}
		if n == 1 {
			t.Length = args[0]
		}
		if t.Length > 255 {
			return p.errorf("%s length %d above 255", t.Kind, t.Length)
		}
	case t.Kind == VarChar, t.Kind == VarBinary:
		if n != 1 {
			return p.errorf("%s needs a length", t.Kind)
		}
		t.Length = args[0]
	case t.Kind == Time, t.Kind == DateTime, t.Kind == Timestamp:
		if n > 1 {
			return p.errorf("too many arguments")
		}
		if n == 1 {
			t.Precision = args[0]
		}
		if t.Precision > 6 {
			return p.errorf("fractional seconds precision %d above 6", t.Precision)
		}
	default:
		if n > 0 {
			return p.errorf("%s takes no arguments", t.Kind)
		}
	}
	return nil
}
