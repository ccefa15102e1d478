package servers

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// OnlineSchemaChange runs pt-online-schema-change (Debian package
// percona-toolkit) on db.table of s with the ALTER clause alter and the
// extra options (such as "--chunk-size", "200"), and gives up after two
// minutes. The password goes to the tool in its DSN, as the tool requires;
// the error carries the tail of the tool's output with the password masked.
func (s *MySQL) OnlineSchemaChange(ctx context.Context, db, table, alter string, extra ...string) error {
	bin, err := findBinary("percona-toolkit", []string{"pt-online-schema-change"})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	args := append([]string{
		"--alter", alter,
		fmt.Sprintf("h=%s,P=%d,u=%s,p=%s,D=%s,t=%s", s.Host, s.Port, s.User, s.Password, db, table),
		"--execute", "--recursion-method", "none", "--no-check-replication-filters",
	}, extra...)
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pt-online-schema-change --alter %q on %s.%s: %w\n%s", alter, db, table, err, tailString(strings.ReplaceAll(string(out), s.Password, "<password>")))
	}
	return nil
}
