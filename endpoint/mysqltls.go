package endpoint

import (
	"crypto/tls"
	"fmt"
)

// MySQLTLSConfig returns the TLS configuration a MySQL endpoint's tls
// parameter asks for: nil for none (tls=false or absent), a verifying
// configuration for tls=true, and one that skips verification for
// tls=skip-verify.
func MySQLTLSConfig(e Endpoint) (*tls.Config, error) {
	switch v := e.Params.Get("tls"); v {
	case "", "false":
		return nil, nil
	case "true":
		return &tls.Config{ServerName: e.Host, MinVersion: tls.VersionTLS12}, nil
	case "skip-verify":
		return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, nil //nolint:gosec // asked for by the user
	default:
		return nil, fmt.Errorf("%w: tls=%q in %s; use tls=true, tls=skip-verify or tls=false", ErrBadURL, v, e.Redacted())
	}
}
