package servers

import (
	"strings"
	"testing"
)

func TestFindBinaryMissing(t *testing.T) {
	_, err := findBinary("mariadb-server", []string{"no-such-binary-testenv"}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "install the Debian package mariadb-server") {
		t.Fatalf("err = %v, want one naming the Debian package", err)
	}
}
