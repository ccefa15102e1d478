package main

import (
	"strings"
	"testing"
)

func TestCaptureUsageErrors(t *testing.T) {
	good := []string{"--source", "mysql://u@127.0.0.1:3306/", "--tables", "shop.*", "--brokers", "127.0.0.1:9092", "--registry", "http://127.0.0.1:8081"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no source", []string{"--tables", "a.*", "--brokers", "b:1", "--registry", "http://r"}, "missing required flag --source"},
		{"no brokers", []string{"--source", "mysql://u@h:1/", "--tables", "a.*", "--registry", "http://r"}, "missing required flag --brokers"},
		{"bad snapshot", append(good, "--snapshot", "sometimes"), `snapshot: "sometimes" is not one of initial, never, when_needed`},
		{"bad url", []string{"--source", "mysql://u:" + password + "@h:notaport/", "--tables", "a.*", "--brokers", "b:1", "--registry", "http://r"}, "--source"},
		{"bad prefix", append(good, "--topic-prefix", "a.b"), "topic-prefix"},
		{"bad online-ddl", append(good, "--online-ddl", "maybe"), `online-ddl: "maybe" is not one of auto, off`},
	}
	for _, tt := range tests {
		code, stdout, stderr := runCLI(t, append([]string{"capture"}, tt.args...)...)
		if code != exitUsage || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and one line containing %q", tt.name, code, stderr, tt.want)
		}
		if strings.Contains(stderr, password) {
			t.Errorf("%s: stderr shows the password", tt.name)
		}
	}
}
