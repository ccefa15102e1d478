package main

import (
	"fmt"
	"regexp"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"
)

// valueExample says what a valid value of a flag looks like, for the error
// that rejects an invalid one; "" for flags that take any string.
func valueExample(f cli.Flag) string {
	switch f.(type) {
	case *altsrc.DurationFlag, *cli.DurationFlag:
		return "a duration such as 500ms, 2s or 1m30s"
	case *altsrc.IntFlag, *cli.IntFlag:
		return "a whole number such as 100"
	case *altsrc.BoolFlag, *cli.BoolFlag:
		return "true or false"
	}
	return ""
}

// findFlag returns the flag of flags called name, or nil.
func findFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

// currentFlags returns the flags of the command c runs.
func currentFlags(c *cli.Context) []cli.Flag {
	if c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name {
		return c.Command.Flags
	}
	return c.App.Flags
}

// The parse errors of the flag package and of cli's environment variables.
var (
	flagValueError = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for (?:flag )?-([\w-]+): `)
	envValueError  = regexp.MustCompile(`^could not parse "(.*)" as \w+ value from environment variable "(\w+)" for flag ([\w-]+): `)
)

// explainValueError rewords a flag parse error so that it names the flag
// as users type it and gives an example of a valid value; other messages
// are returned as they are.
func explainValueError(c *cli.Context, msg string) string {
	if m := flagValueError.FindStringSubmatch(msg); m != nil {
		if ex := valueExample(findFlag(currentFlags(c), m[2])); ex != "" {
			return fmt.Sprintf("invalid value %q for --%s: %s", m[1], m[2], ex)
		}
	}
	if m := envValueError.FindStringSubmatch(msg); m != nil {
		if ex := valueExample(findFlag(currentFlags(c), m[3])); ex != "" {
			return fmt.Sprintf("invalid value %q in %s for --%s: %s", m[1], m[2], m[3], ex)
		}
	}
	return msg
}

// checkConfigValue checks the type of a config file's value for flag f, so
// that a wrong one is reported with an example of a right one.
func checkConfigValue(key string, f cli.Flag, v any) error {
	ok := true
	switch f.(type) {
	case *altsrc.DurationFlag:
		s, isString := v.(string)
		_, err := time.ParseDuration(s)
		ok = isString && err == nil
	case *altsrc.IntFlag:
		_, ok = v.(int)
	case *altsrc.BoolFlag:
		_, ok = v.(bool)
	}
	if !ok {
		return fmt.Errorf("invalid value %v for %s: %s", v, key, valueExample(f))
	}
	return nil
}
