// Package task reads a synchronization task's spec: one YAML file that names
// the source, the Kafka cluster, the objects to sync (databases and tables,
// with per-table column selection, row filter and operations) and each
// target with its own consumer group and mapping (new names for databases,
// tables and columns, and filters that only that target needs).
//
// Every component (capture, apply, verify, task) reads the same file. Load
// checks it without I/O and names the field of every mistake by its path,
// e.g. targets[0].databases.shop.tables.orders.filter. What needs the source
// (a filter on a missing column) is checked when capture binds the rules to
// the table, with the same path.
//
// The object list a running task uses is kept in Kafka (see Store): add and
// remove tables while it runs, and every component and restart sees the same
// list.
package task

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// ErrBadSpec is wrapped by every error about a spec's content.
var ErrBadSpec = errors.New("bad task spec")

// Spec is a task spec as written. Keys are the flag names of the
// components, so a setting reads the same in the file, on the command line
// and in the environment.
type Spec struct {
	// Name identifies the task: capture's checkpoint, the default topic
	// prefix and the key of the task's records in Kafka.
	Name string `yaml:"name"`
	// Source is the MySQL or MariaDB server, a mysql:// URL.
	Source             string `yaml:"source"`
	SourcePasswordFile string `yaml:"source-password-file"`

	// Kafka and the schema registry.
	Brokers               []string `yaml:"brokers"`
	Registry              string   `yaml:"registry"`
	TopicPrefix           string   `yaml:"topic-prefix"`
	KafkaTLS              bool     `yaml:"kafka-tls"`
	KafkaTLSCA            string   `yaml:"kafka-tls-ca"`
	KafkaTLSInsecure      bool     `yaml:"kafka-tls-insecure"`
	KafkaSASLMechanism    string   `yaml:"kafka-sasl-mechanism"`
	KafkaSASLUser         string   `yaml:"kafka-sasl-user"`
	KafkaSASLPasswordFile string   `yaml:"kafka-sasl-password-file"`

	// LogFormat and LogLevel apply to every component.
	LogFormat string `yaml:"log-format"`
	LogLevel  string `yaml:"log-level"`

	// Capture holds flags of syncline capture, keyed by flag name.
	Capture map[string]any `yaml:"capture"`
	// Objects selects what is synced, in order: a table's rules come from
	// the first object that selects it.
	Objects []Object `yaml:"objects"`
	// Targets are the databases kept in step with the source.
	Targets []Target `yaml:"targets"`
}

// Object selects tables of one database and says what of their changes is
// synced. It is applied in capture: what it leaves out never reaches Kafka.
type Object struct {
	// Database is a database name or pattern (* and ?).
	Database string `yaml:"database" json:"database"`
	// Tables are table names or patterns; empty selects every table.
	Tables []string `yaml:"tables,omitempty" json:"tables,omitempty"`
	// Exclude are table names or patterns left out.
	Exclude []string `yaml:"exclude,omitempty" json:"exclude,omitempty"`
	// Columns, when given, are the only columns kept (the key is always
	// kept).
	Columns []string `yaml:"columns,omitempty" json:"columns,omitempty"`
	// DropColumns are columns left out.
	DropColumns []string `yaml:"drop-columns,omitempty" json:"drop-columns,omitempty"`
	// Filter is a WHERE-style condition on the row's columns; rows that do
	// not satisfy it are not synced.
	Filter string `yaml:"filter,omitempty" json:"filter,omitempty"`
	// Operations lists what is synced: insert, update, delete, ddl (all by
	// default).
	Operations []string `yaml:"operations,omitempty" json:"operations,omitempty"`
}

// Target is one database kept in step with the source by its own apply
// consumer group.
type Target struct {
	// Name identifies the target in commands (--target-name).
	Name string `yaml:"name"`
	// URL is the target, mysql://, postgres:// or clickhouse://.
	URL          string `yaml:"url"`
	PasswordFile string `yaml:"password-file"`
	// Group is the target's Kafka consumer group.
	Group string `yaml:"group"`
	// Apply holds flags of syncline apply for this target, keyed by flag
	// name.
	Apply map[string]any `yaml:"apply"`
	// Databases maps source database names to how they appear in this
	// target.
	Databases map[string]DatabaseMap `yaml:"databases"`
}

// DatabaseMap is how one source database appears in a target.
type DatabaseMap struct {
	// Rename is the database's name in the target.
	Rename string `yaml:"rename"`
	// Tables maps source table names to how they appear in the target.
	Tables map[string]TableMap `yaml:"tables"`
}

// TableMap is how one source table appears in a target. Its filter and
// dropped columns are applied by that target's apply, for what one target
// needs and another does not.
type TableMap struct {
	// Rename is the table's name in the target.
	Rename string `yaml:"rename"`
	// RenameColumns maps source column names to target column names.
	RenameColumns map[string]string `yaml:"rename-columns"`
	// DropColumns are columns this target does not hold.
	DropColumns []string `yaml:"drop-columns"`
	// Filter is a WHERE-style condition: rows that do not satisfy it are
	// not in this target (an update that leaves it deletes the row there).
	Filter string `yaml:"filter"`
}

// Load reads and checks a spec file.
func Load(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data)
}

// Parse decodes and checks a spec. Errors wrap ErrBadSpec and name the
// field's path.
func Parse(data []byte) (*Spec, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSpec, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%w: the file is empty", ErrBadSpec)
	}
	if splitBrokers(doc.Content[0]) {
		out, err := yaml.Marshal(&doc)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadSpec, err)
		}
		data = out
	}
	if err := checkKeys(doc.Content[0], reflect.TypeOf(Spec{}), ""); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSpec, err)
	}
	var s Spec
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSpec, err)
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	return &s, nil
}

// splitBrokers turns "brokers: a:9092,b:9092" into a list, so that the spec
// takes brokers as --brokers does, and reports whether it did.
func splitBrokers(n *yaml.Node) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		v := n.Content[i+1]
		if n.Content[i].Value != "brokers" || v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
			continue
		}
		list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: v.Line, Column: v.Column}
		for _, b := range strings.Split(v.Value, ",") {
			if b = strings.TrimSpace(b); b != "" {
				list.Content = append(list.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: b, Line: v.Line})
			}
		}
		n.Content[i+1] = list
		return true
	}
	return false
}

// checkKeys walks a YAML node against the Go type it decodes into and
// reports the first unknown key or wrong kind of value by its path, which
// yaml's own errors give only as a line number.
func checkKeys(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	where := path
	if where == "" {
		where = "the spec"
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%s: must be a mapping of keys (line %d)", where, n.Line)
		}
		fields := map[string]reflect.StructField{}
		var names []string
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			fields[name] = f
			names = append(names, name)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			f, ok := fields[key]
			if !ok {
				return fmt.Errorf("%s: unknown key (line %d); the keys here are %s", join(path, key), n.Content[i].Line, strings.Join(names, ", "))
			}
			if err := checkKeys(n.Content[i+1], f.Type, join(path, key)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		if n.Kind != yaml.SequenceNode {
			return fmt.Errorf("%s: must be a list (one \"- item\" line each) (line %d)", where, n.Line)
		}
		for i, c := range n.Content {
			if err := checkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%s: must be a mapping (line %d)", where, n.Line)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkKeys(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value)); err != nil {
				return err
			}
		}
	case reflect.Interface:
		// Flag values: checked by the component that owns the flags.
	default:
		if n.Kind != yaml.ScalarNode {
			return fmt.Errorf("%s: must be a single value (line %d)", where, n.Line)
		}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var validName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)

// check validates what needs no I/O and names the field of each mistake.
func (s *Spec) check() error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrBadSpec, path, fmt.Sprintf(format, args...)))
	}
	if !validName.MatchString(s.Name) {
		bad("name", "%q must be 1-100 characters of [A-Za-z0-9_-]", s.Name)
	}
	if s.Source == "" {
		bad("source", "required: the mysql:// URL of the source")
	}
	if len(s.Objects) == 0 {
		bad("objects", "required: at least one database to sync")
	}
	if _, err := CompileObjects(s.Objects); err != nil {
		errs = append(errs, err)
	}
	names, groups := map[string]int{}, map[string]int{}
	for i, t := range s.Targets {
		p := fmt.Sprintf("targets[%d]", i)
		if !validName.MatchString(t.Name) {
			bad(p+".name", "%q must be 1-100 characters of [A-Za-z0-9_-]", t.Name)
		} else if j, dup := names[t.Name]; dup {
			bad(p+".name", "%q is also the name of targets[%d]", t.Name, j)
		}
		names[t.Name] = i
		if t.URL == "" {
			bad(p+".url", "required: a mysql://, postgres:// or clickhouse:// URL")
		}
		if t.Group == "" {
			bad(p+".group", "required: the target's Kafka consumer group")
		} else if j, dup := groups[t.Group]; dup {
			bad(p+".group", "%q is also the group of targets[%d]; each target needs its own", t.Group, j)
		}
		groups[t.Group] = i
		if _, err := compileMapping(t, p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Prefix returns the task's topic prefix: topic-prefix, else the task's
// name.
func (s *Spec) Prefix() string {
	if s.TopicPrefix != "" {
		return s.TopicPrefix
	}
	return s.Name
}

// Target returns the target called name, or the only one when name is
// empty.
func (s *Spec) Target(name string) (*Target, error) {
	if name == "" {
		if len(s.Targets) == 1 {
			return &s.Targets[0], nil
		}
		return nil, fmt.Errorf("the spec has %d targets; choose one with --target-name (%s)", len(s.Targets), strings.Join(s.targetNames(), ", "))
	}
	for i := range s.Targets {
		if s.Targets[i].Name == name {
			return &s.Targets[i], nil
		}
	}
	return nil, fmt.Errorf("the spec has no target %q; its targets are %s", name, strings.Join(s.targetNames(), ", "))
}

func (s *Spec) targetNames() []string {
	var out []string
	for _, t := range s.Targets {
		out = append(out, t.Name)
	}
	sort.Strings(out)
	return out
}
