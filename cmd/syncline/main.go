// Command syncline captures the changes of MySQL and MariaDB tables from the
// binlog into Kafka (syncline capture) and applies them to MySQL,
// PostgreSQL or ClickHouse (syncline apply). syncline precheck checks a
// task's servers before it starts.
//
// Every flag can also be set through the environment variable
// SYNCLINE_<FLAG> (upper case, - as _) or in a YAML file given with
// --config, whose keys are the flag names. A flag on the command line wins
// over the environment, which wins over the file.
//
// Exit status: 0 success, 1 a check or run failed, 2 bad usage, 3 a
// permanent fault that needs a person (a supervisor must not restart it).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
