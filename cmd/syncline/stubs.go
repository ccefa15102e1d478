package main

import "github.com/urfave/cli/v2"

// The commands below are not built yet; each stub is replaced by its own
// file when it is.

func statusCommand() *cli.Command {
	return newCommand(&cli.Command{Name: "status", Usage: "show a task's position and lag (not built yet)", Action: notBuilt})
}

func devCommand() *cli.Command {
	return newCommand(&cli.Command{Name: "dev", Usage: "run a local demo environment (not built yet)", Action: notBuilt})
}

// notBuilt is the action of every stub.
func notBuilt(c *cli.Context) error {
	return &exitError{code: exitFailed, msg: "syncline " + c.Command.Name + " is not built yet"}
}
