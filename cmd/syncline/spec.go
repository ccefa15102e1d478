package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"
	"gopkg.in/yaml.v3"

	"github.com/syncline/syncline/task"
)

// flagTargetName chooses one target of a task spec.
const flagTargetName = "target-name"

// isTaskSpec reports whether a --config file is a task spec (it has
// objects or targets) rather than a file of flag values.
func isTaskSpec(data []byte) bool {
	var top map[string]any
	if yaml.Unmarshal(data, &top) != nil {
		return false
	}
	_, objects := top["objects"]
	_, targets := top["targets"]
	return objects || targets
}

// taskSpec returns the task spec given with --config; nil when --config
// names none (no file, or a file of flag values).
func taskSpec(c *cli.Context) (*task.Spec, error) {
	path := c.String(flagConfig)
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef(c, "config file %s: %v", path, err)
	}
	if !isTaskSpec(data) {
		return nil, nil
	}
	spec, err := task.Parse(data)
	if err != nil {
		return nil, usagef(c, "task spec %s: %v", path, err)
	}
	return spec, nil
}

// applySpec sets the flags of the command that a task spec gives and that
// neither the command line nor the environment set: the spec's top-level
// settings, its capture section for capture, and the chosen target for
// apply and verify.
func applySpec(c *cli.Context, spec *task.Spec, flags []cli.Flag) error {
	values, err := specValues(c, spec, flags)
	if err != nil {
		return err
	}
	for _, f := range flags {
		// A list flag may be one comma-separated string, as on the command
		// line.
		if _, isList := f.(*altsrc.StringSliceFlag); isList {
			if s, ok := values[f.Names()[0]].(string); ok {
				values[f.Names()[0]] = []any{s}
			}
		}
	}
	src := altsrc.NewMapInputSource(c.String(flagConfig), values)
	if err := altsrc.ApplyInputSourceValues(c, src, flags); err != nil {
		return usagef(c, "task spec %s: %v", c.String(flagConfig), err)
	}
	return nil
}

// specValues returns the flag values a task spec gives a command.
func specValues(c *cli.Context, spec *task.Spec, flags []cli.Flag) (map[any]any, error) {
	has := map[string]bool{}
	for _, f := range flags {
		has[f.Names()[0]] = true
	}
	values := map[any]any{}
	set := func(name string, v any) {
		if !has[name] {
			return
		}
		switch v := v.(type) {
		case string:
			if v == "" {
				return
			}
		case []string:
			if len(v) == 0 {
				return
			}
			list := make([]any, len(v))
			for i, s := range v {
				list[i] = s
			}
			values[name] = list
			return
		case bool:
			if !v {
				return
			}
		}
		values[name] = v
	}
	set(flagSource, spec.Source)
	set(flagSourcePasswordFile, spec.SourcePasswordFile)
	set(flagBrokers, spec.Brokers)
	set(flagRegistry, spec.Registry)
	set(flagTopicPrefix, spec.Prefix())
	set(flagKafkaTLS, spec.KafkaTLS)
	set(flagKafkaTLSCA, spec.KafkaTLSCA)
	set(flagKafkaTLSInsecure, spec.KafkaTLSInsecure)
	set(flagKafkaSASL, spec.KafkaSASLMechanism)
	set(flagKafkaSASLUser, spec.KafkaSASLUser)
	set(flagKafkaSASLPassFile, spec.KafkaSASLPasswordFile)
	set(flagLogFormat, spec.LogFormat)
	set(flagLogLevel, spec.LogLevel)

	if err := sectionValues(c, "capture", spec.Capture, captureCommand().Flags, nil); err != nil {
		return nil, err
	}
	for i, t := range spec.Targets {
		if err := sectionValues(c, fmt.Sprintf("targets[%d].apply", i), t.Apply, applyCommand().Flags, nil); err != nil {
			return nil, err
		}
	}
	switch commandName(c) {
	case "precheck":
		// precheck checks what capture will use: the capture section's
		// settings that precheck has a flag for (server-id).
		for _, key := range sortedKeys(spec.Capture) {
			if has[key] && !isSpecKey(key) {
				values[key] = spec.Capture[key]
			}
		}
	case "capture":
		if err := sectionValues(c, "capture", spec.Capture, flags, values); err != nil {
			return nil, err
		}
	case "apply", "verify":
		if !has[flagTargetName] || len(spec.Targets) == 0 {
			break
		}
		t, err := spec.Target(c.String(flagTargetName))
		if err != nil {
			return nil, usagef(c, "task spec %s: %v", c.String(flagConfig), err)
		}
		set(flagTarget, t.URL)
		set(flagTargetPasswordFile, t.PasswordFile)
		set(flagGroup, t.Group)
		if commandName(c) == "apply" {
			if err := sectionValues(c, "targets["+t.Name+"].apply", t.Apply, flags, values); err != nil {
				return nil, err
			}
		}
	}
	return values, nil
}

// sectionValues checks a section of flag values against a command's flags
// and, when into is not nil, copies them there.
func sectionValues(c *cli.Context, path string, section map[string]any, flags []cli.Flag, into map[any]any) error {
	names := flagNames(flags)
	for _, key := range sortedKeys(section) {
		if !slices.Contains(names, key) || isSpecKey(key) {
			return usagef(c, "task spec %s: %s.%s: unknown key; the keys here are flag names: %s", c.String(flagConfig), path, key, strings.Join(sectionKeys(names), ", "))
		}
		if into != nil {
			into[key] = section[key]
		}
	}
	return nil
}

// isSpecKey reports whether a flag is set by the spec's own fields rather
// than by a section.
func isSpecKey(name string) bool {
	switch name {
	case flagSource, flagSourcePasswordFile, flagTables, flagExcludeTables, flagTarget, flagTargetPasswordFile, flagGroup,
		flagTopicPrefix, flagBrokers, flagRegistry, flagTargetName, flagConfig:
		return true
	}
	return false
}

func sectionKeys(names []string) []string {
	return slices.DeleteFunc(slices.Clone(names), isSpecKey)
}

// targetMapping returns the mapping of the target --target-name chooses.
func targetMapping(c *cli.Context, spec *task.Spec) (*task.Mapping, error) {
	t, err := spec.Target(c.String(flagTargetName))
	if err != nil {
		return nil, usagef(c, "task spec %s: %v", c.String(flagConfig), err)
	}
	i := slices.IndexFunc(spec.Targets, func(x task.Target) bool { return x.Name == t.Name })
	m, err := t.Mapping(fmt.Sprintf("targets[%d]", i))
	if err != nil {
		return nil, usagef(c, "task spec %s: %v", c.String(flagConfig), err)
	}
	return m, nil
}
