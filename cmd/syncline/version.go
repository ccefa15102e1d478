package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"
)

// flagVersion is syncline --version.
const flagVersion = "version"

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:      "version",
		Usage:     "print syncline's version, the Go version and the versions of the modules built in",
		UsageText: "syncline version (or syncline --version)",
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef(c, "unexpected argument %q", c.Args().First())
			}
			return writeVersion(c.App.Writer)
		},
		HideHelpCommand: true,
		OnUsageError:    onUsageError,
	}
}

// writeVersion prints the build's version: the main module's version (or
// its VCS revision), the Go version and every dependency's module version.
func writeVersion(w io.Writer) error {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		_, err := fmt.Fprintln(w, "syncline (no build information: built without module support)")
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "syncline %s (%s)\n", buildVersion(info), info.GoVersion)
	for _, d := range info.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		fmt.Fprintf(&b, "  %s %s\n", d.Path, d.Version)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// buildVersion names the build: the module version when it was built from
// a tagged module, else the VCS revision (with "dirty" when the tree had
// changes), else "(devel)".
func buildVersion(info *debug.BuildInfo) string {
	v := info.Main.Version
	if v != "" && v != "(devel)" {
		return v
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	rev := settings["vcs.revision"]
	if rev == "" {
		return "(devel)"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	out := "revision " + rev
	if t := settings["vcs.time"]; t != "" {
		out += " of " + t
	}
	if settings["vcs.modified"] == "true" {
		out += ", dirty"
	}
	return out
}
