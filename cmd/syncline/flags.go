package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"
	"gopkg.in/yaml.v3"

	"github.com/syncline/syncline/endpoint"
)

// envPrefix starts the environment variable of every flag.
const envPrefix = "SYNCLINE_"

// envVar returns the environment variable of a flag: SYNCLINE_<NAME>, upper
// case, - as _.
func envVar(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// withEnv gives every flag its environment variable, so that no flag can
// forget it. A flag type it does not know is a programming error.
func withEnv(flags []cli.Flag) []cli.Flag {
	for _, f := range flags {
		env := []string{envVar(f.Names()[0])}
		switch f := f.(type) {
		case *altsrc.StringFlag:
			f.EnvVars = env
		case *altsrc.StringSliceFlag:
			f.EnvVars = env
		case *altsrc.IntFlag:
			f.EnvVars = env
		case *altsrc.DurationFlag:
			f.EnvVars = env
		case *altsrc.BoolFlag:
			f.EnvVars = env
		case *cli.StringFlag:
			f.EnvVars = env
		default:
			panic(fmt.Sprintf("withEnv: flag --%s has type %T, which withEnv does not handle", f.Names()[0], f))
		}
	}
	return flags
}

// Names of the shared flags.
const (
	flagConfig    = "config"
	flagLogFormat = "log-format"
	flagLogLevel  = "log-level"
)

// sharedFlags are on every subcommand.
func sharedFlags() []cli.Flag {
	return []cli.Flag{
		// Not altsrc: the file cannot name itself.
		&cli.StringFlag{Name: flagConfig, Usage: "read the task spec (docs/task.md), or flags keyed by flag name, from this YAML `FILE` (flags and environment variables win over it)"},
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagLogFormat, Value: "text", Usage: "log format: text or json"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagLogLevel, Value: "info", Usage: "log level: debug, info, warn or error"}),
	}
}

// newLogger builds the logger of a command from --log-format and
// --log-level; logs go to w (stderr).
func newLogger(c *cli.Context, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	switch v := strings.ToLower(c.String(flagLogLevel)); v {
	case "debug":
		level = slog.LevelDebug
	case "info":
		level = slog.LevelInfo
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		return nil, usagef(c, "--%s %q: use debug, info, warn or error", flagLogLevel, c.String(flagLogLevel))
	}
	opts := &slog.HandlerOptions{Level: level}
	switch v := strings.ToLower(c.String(flagLogFormat)); v {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, usagef(c, "--%s %q: use text or json", flagLogFormat, c.String(flagLogFormat))
	}
}

// loadConfigFile returns the Before hook that applies --config's YAML file
// to the flags that neither the command line nor the environment set. The
// file is checked first, so that a typo in a key is an error rather than a
// setting silently ignored.
func loadConfigFile(flags []cli.Flag) cli.BeforeFunc {
	return func(c *cli.Context) error {
		path := c.String(flagConfig)
		if path == "" {
			return nil
		}
		spec, err := taskSpec(c)
		if err != nil {
			return err
		}
		if spec != nil {
			return applySpec(c, spec, flags)
		}
		values, err := readConfigFile(path, flags)
		if err != nil {
			return usagef(c, "config file %s: %v", path, err)
		}
		if err := altsrc.ApplyInputSourceValues(c, altsrc.NewMapInputSource(path, values), flags); err != nil {
			// altsrc's message spreads over lines; keep its inner error.
			msg := err.Error()
			if _, inner, ok := strings.Cut(msg, "inner error:"); ok {
				msg = strings.Trim(strings.TrimSpace(inner), "'")
			}
			return usagef(c, "config file %s: %s", path, msg)
		}
		return nil
	}
}

// readConfigFile reads the YAML file and checks that every key is a flag
// of the command and that every value fits its flag. A list flag takes a
// YAML list or, as on the command line, one string (which the command may
// split at commas: "brokers: a:9092,b:9092").
func readConfigFile(path string, flags []cli.Flag) (map[any]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var values map[string]any
	if err := yaml.Unmarshal(data, &values); err != nil {
		return nil, err
	}
	known := make(map[string]cli.Flag)
	for _, f := range flags {
		for _, n := range f.Names() {
			known[n] = f
		}
	}
	for _, key := range sortedKeys(values) {
		f, ok := known[key]
		if !ok || key == flagConfig || key == "help" {
			return nil, fmt.Errorf("unknown key %q (keys are flag names: %s)", key, strings.Join(flagNames(flags), ", "))
		}
		if _, isList := f.(*altsrc.StringSliceFlag); isList {
			switch v := values[key].(type) {
			case []any:
			case string:
				values[key] = []any{v}
			default:
				return nil, fmt.Errorf("%s must be a YAML list (one \"- value\" line per item) or a comma-separated string", key)
			}
		}
		if err := checkConfigValue(key, f, values[key]); err != nil {
			return nil, err
		}
	}
	out := make(map[any]any, len(values))
	for k, v := range values {
		out[k] = v
	}
	return out, nil
}

// flagNames lists the flags a config file may set.
func flagNames(flags []cli.Flag) []string {
	var names []string
	for _, f := range flags {
		if n := f.Names()[0]; n != flagConfig && n != "help" {
			names = append(names, n)
		}
	}
	return names
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// endpointFlag parses an endpoint flag and reads its password from the
// password file flag when one is given. Every error is a usage error that
// names the flag and never the password.
func endpointFlag(c *cli.Context, flag, raw, passwordFile string) (endpoint.Endpoint, error) {
	e, err := endpoint.Parse(raw)
	if err != nil {
		return e, usagef(c, "--%s: %v", flag, err)
	}
	e, err = e.WithPasswordFrom(passwordFile, "")
	if err != nil {
		return e, usagef(c, "--%s: %v", flag, err)
	}
	return e, nil
}

// splitList splits comma-separated values of a list flag and drops empty
// ones: --brokers a:9092,b:9092 and --brokers a:9092 --brokers b:9092 mean
// the same.
func splitList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// requireFlags returns one usage error that names every flag of names that
// is not given (on the command line, in the environment or the config
// file), so that a user fixes them all in one go; nil when all are.
func requireFlags(c *cli.Context, names ...string) error {
	var missing []string
	for _, name := range names {
		if !flagGiven(c, name) {
			missing = append(missing, "--"+name)
		}
	}
	switch len(missing) {
	case 0:
		return nil
	case 1:
		return usagef(c, "missing required flag %s", missing[0])
	default:
		return usagef(c, "missing required flags %s and %s", strings.Join(missing[:len(missing)-1], ", "), missing[len(missing)-1])
	}
}

// flagGiven reports whether a string or list flag has a value that is not
// blank.
func flagGiven(c *cli.Context, name string) bool {
	for _, f := range c.Command.Flags {
		if _, isList := f.(*altsrc.StringSliceFlag); isList && slices.Contains(f.Names(), name) {
			return len(splitList(c.StringSlice(name))) > 0
		}
	}
	return strings.TrimSpace(c.String(name)) != ""
}
