package testenv

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// OnlineSchemaChange runs pt-online-schema-change (Debian package
// percona-toolkit) on db.table of s with the ALTER clause alter and the
// extra options (such as "--chunk-size", "200"), and fails the test when it
// fails. The password goes to the tool in its DSN, as the tool requires,
// on this test server only.
func (s *MySQL) OnlineSchemaChange(t testing.TB, db, table, alter string, extra ...string) {
	t.Helper()
	bin, err := findBinary("percona-toolkit", []string{"pt-online-schema-change"})
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{
		"--alter", alter,
		fmt.Sprintf("h=%s,P=%d,u=%s,p=%s,D=%s,t=%s", s.Host, s.Port, s.User, s.Password, db, table),
		"--execute", "--recursion-method", "none", "--no-check-replication-filters",
	}, extra...)
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("testenv: pt-online-schema-change --alter %q on %s.%s: %v\n%s", alter, db, table, err, tailString(strings.ReplaceAll(string(out), s.Password, "<password>")))
	}
}
