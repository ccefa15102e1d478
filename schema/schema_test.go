package schema_test

import (
	"errors"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/schema/schematest"
	"strings"
	"testing"
)

func TestParseTypeRoundTrip(t *testing.T) {
	kinds := map[schema.Kind]bool{}
	for _, s := range schematest.EveryType {
		typ, err := schema.ParseType(s)
		if err != nil {
			t.Errorf("ParseType(%q): %v", s, err)
			continue
		}
		kinds[typ.Kind] = true
		if got := typ.String(); got != s {
			t.Errorf("ParseType(%q).String() = %q", s, got)
		}
		again, err := schema.ParseType(typ.String())
		if err != nil || !again.Equal(typ) {
			t.Errorf("ParseType(String()) of %q: %+v, %v; want %+v", s, again, err, typ)
		}
	}
	for k := schema.TinyInt; k < schema.KindEnd; k++ {
		if !kinds[k] {
			t.Errorf("kind %s not covered", k)
		}
	}
}

func TestParseTypeColumnType(t *testing.T) {
	for in, want := range map[string]string{
		"int(10) unsigned":                "int unsigned",
		"int(11)":                         "int",
		"INT UNSIGNED":                    "int unsigned",
		"tinyint(1)":                      "tinyint",
		"bool":                            "tinyint",
		"bigint(20) unsigned zerofill":    "bigint unsigned",
		"int(5) unsigned zerofill":        "int unsigned",
		"decimal(10,2) unsigned zerofill": "decimal(10,2)",
		"decimal":                         "decimal(10,0)",
		"numeric(7)":                      "decimal(7,0)",
		"float(7,3)":                      "float",
		"float(30)":                       "double",
		"double(10,2) unsigned":           "double",
		"double precision":                "double",
		"real":                            "double",
		"bit":                             "bit(1)",
		"char":                            "char(1)",
		"character varying(12)":           "varchar(12)",
		"enum('a','b''c')":                "enum('a','b''c')",
		`enum('a\'b',"c""d")`:             "enum('a''b','c\"d')",
		"varchar(20)":                     "varchar(20)",
		"datetime(3)":                     "datetime(3)",
		"datetime /* mariadb-5.3 */":      "datetime",
		"timestamp(0)":                    "timestamp",
		"year(4)":                         "year",
		"  Point ":                        "point",
		"geomcollection":                  "geometrycollection",
		"mediumint(8) unsigned":           "mediumint unsigned",
	} {
		typ, err := schema.ParseType(in)
		if err != nil {
			t.Errorf("ParseType(%q): %v", in, err)
			continue
		}
		if got := typ.String(); got != want {
			t.Errorf("ParseType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseTypeErrors(t *testing.T) {
	for _, in := range []string{"inet", "uuid4", "vector(3)", "int4range", "xml"} {
		_, err := schema.ParseType(in)
		if !errors.Is(err, schema.ErrUnsupportedType) || !strings.Contains(err.Error(), in) {
			t.Errorf("ParseType(%q): %v, want ErrUnsupportedType naming the type", in, err)
		}
	}
	for _, in := range []string{"", "varchar", "decimal(66,2)", "decimal(5,6)", "bit(65)", "time(7)",
		"enum('a'", "enum(a)", "int(3", "int foo", "varchar(10) unsigned", "char(256)", "text(5)"} {
		if _, err := schema.ParseType(in); err == nil {
			t.Errorf("ParseType(%q): no error", in)
		} else if errors.Is(err, schema.ErrUnsupportedType) {
			t.Errorf("ParseType(%q): %v is not a syntax error", in, err)
		}
	}
}
