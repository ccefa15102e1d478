package main

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/syncline/syncline/task"
)

// The demo's own files and its source user, for the commands it prints.
const (
	demoUser         = "syncline"
	demoPasswordFile = "source.password"
	demoSpecFile     = "task.yaml"
	demoCommandsFile = "commands.txt"
	demoTarget       = "clickhouse"
)

// demoObjects is the demo task's object list: the whole shop.
var demoObjects = []task.Object{{Database: shopDB}}

// setupUser creates the demo's source user, with the privileges capture
// needs, and keeps its password in DIR/source.password (made once, kept
// across runs).
func (d *demo) setupUser(ctx context.Context) error {
	path := filepath.Join(d.dir, demoPasswordFile)
	b, err := os.ReadFile(path)
	pass := strings.TrimSpace(string(b))
	if errors.Is(err, os.ErrNotExist) || pass == "" {
		raw := make([]byte, 12)
		if _, err := rand.Read(raw); err != nil {
			return err
		}
		pass = hex.EncodeToString(raw)
		if err := os.WriteFile(path, []byte(pass+"\n"), 0o600); err != nil {
			return fmt.Errorf("demo password file: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("demo password file: %w", err)
	}
	db := d.shop.db
	// The account statements take no parameters: the password goes as
	// its mysql_native_password hash, hex digits computed here.
	for _, q := range []string{
		"CREATE USER IF NOT EXISTS '" + demoUser + "'@'%'",
		"ALTER USER '" + demoUser + "'@'%' IDENTIFIED BY PASSWORD '" + nativePasswordHash(pass) + "'",
		"GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '" + demoUser + "'@'%'",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create the demo's source user %s: %w", demoUser, err)
		}
	}
	return nil
}

// nativePasswordHash is MySQL's mysql_native_password hash of pass:
// "*" and the upper-case hex of SHA1(SHA1(pass)).
func nativePasswordHash(pass string) string {
	h1 := sha1.Sum([]byte(pass))
	h2 := sha1.Sum(h1[:])
	return "*" + strings.ToUpper(hex.EncodeToString(h2[:]))
}

// demoSpec is the demo's task spec, as syncline task, verify and precheck
// read it.
type demoSpec struct {
	Name               string        `yaml:"name"`
	Source             string        `yaml:"source"`
	SourcePasswordFile string        `yaml:"source-password-file"`
	Brokers            []string      `yaml:"brokers"`
	Registry           string        `yaml:"registry"`
	TopicPrefix        string        `yaml:"topic-prefix"`
	Objects            []task.Object `yaml:"objects"`
	Targets            []struct {
		Name  string `yaml:"name"`
		URL   string `yaml:"url"`
		Group string `yaml:"group"`
	} `yaml:"targets"`
}

// writeSpec writes DIR/task.yaml for this run's addresses.
func (d *demo) writeSpec() (string, error) {
	spec := demoSpec{
		Name: demoPrefix, Source: "mysql://" + demoUser + "@" + d.src.Addr() + "/", SourcePasswordFile: filepath.Join(d.dir, demoPasswordFile),
		Brokers: d.svc.Brokers, Registry: d.svc.RegistryURL, TopicPrefix: demoPrefix, Objects: demoObjects,
	}
	spec.Targets = append(spec.Targets, struct {
		Name  string `yaml:"name"`
		URL   string `yaml:"url"`
		Group string `yaml:"group"`
	}{demoTarget, d.ch.URL(""), demoGroup})
	b, err := yaml.Marshal(spec)
	if err != nil {
		return "", err
	}
	b = append([]byte("# The task syncline demo runs, for syncline task, verify, precheck and console.\n# Its addresses change with each run of the demo.\n"), b...)
	path := filepath.Join(d.dir, demoSpecFile)
	if _, err := task.Parse(b); err != nil {
		return "", fmt.Errorf("demo task spec: %w", err)
	}
	return path, os.WriteFile(path, b, 0o644)
}

// demoCommands are the commands the demo suggests, ready to paste: each
// starts with the program's name.
func (d *demo) demoCommands(spec string) []string {
	exe := d.exe
	pw := filepath.Join(d.dir, demoPasswordFile)
	return []string{
		fmt.Sprintf("%s status --brokers %s --registry %s --topic-prefix %s", exe, d.svc.Brokers[0], d.svc.RegistryURL, demoPrefix),
		fmt.Sprintf("%s task show --config %s", exe, shellQuote(spec)),
		fmt.Sprintf("%s precheck --source mysql://%s@%s/ --source-password-file %s --tables '%s.*' --brokers %s --registry %s",
			exe, demoUser, d.src.Addr(), shellQuote(pw), shopDB, d.svc.Brokers[0], d.svc.RegistryURL),
		fmt.Sprintf("%s verify --config %s", exe, shellQuote(spec)),
	}
}

// intro prints where everything is and what to try.
func (d *demo) intro(w io.Writer, consoleURL, spec string) {
	fmt.Fprintln(w)
	if consoleURL != "" {
		fmt.Fprintf(w, "Console: %s\n", consoleURL)
	}
	fmt.Fprintf(w, "MariaDB %s (user %s, password in %s), ClickHouse %s,\n", d.src.Addr(), demoUser, filepath.Join(d.dir, demoPasswordFile), d.ch.Addr())
	fmt.Fprintf(w, "Kafka %s, registry %s, topic prefix %s, task spec %s\n", d.svc.Brokers[0], d.svc.RegistryURL, demoPrefix, spec)
	fmt.Fprintln(w, "Try, in another terminal (also in "+filepath.Join(d.dir, demoCommandsFile)+"):")
	for _, c := range d.demoCommands(spec) {
		fmt.Fprintln(w, "  "+c)
	}
	fmt.Fprintf(w, "  %s console --config %s --listen 127.0.0.1:8080 --allow-changes\n", d.exe, shellQuote(spec))
	fmt.Fprintln(w)
}

// writeCommands keeps the suggested commands in DIR/commands.txt.
func (d *demo) writeCommands(consoleURL, spec string) error {
	var b strings.Builder
	d.intro(&b, consoleURL, spec)
	return os.WriteFile(filepath.Join(d.dir, demoCommandsFile), []byte(strings.TrimSpace(b.String())+"\n"), 0o644)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-:@,=+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// programName is how the demo names syncline in the commands it prints:
// the executable's path, or "syncline" when it runs from go run's cache.
func programName() string {
	p, err := os.Executable()
	if err != nil || strings.Contains(p, "go-build") || strings.HasSuffix(p, ".test") {
		return "syncline"
	}
	return p
}
