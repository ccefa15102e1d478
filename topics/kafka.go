package topics

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Kafka says how to reach the Kafka cluster. The zero value of every field
// but Brokers means "off".
type Kafka struct {
	// Brokers are the seed brokers, host:port.
	Brokers []string
	// TLS turns on TLS; CAFile adds a CA bundle to the system roots and
	// InsecureSkipVerify turns off certificate checks (tests only).
	TLS                bool
	CAFile             string
	InsecureSkipVerify bool
	// SASLMechanism is "", "plain", "scram-sha-256" or "scram-sha-512".
	SASLMechanism string
	SASLUser      string
	// SASLPassword is never printed; see String.
	SASLPassword string
}

// String describes the connection without the SASL password.
func (k Kafka) String() string {
	s := strings.Join(k.Brokers, ",")
	if k.TLS {
		s += " (tls)"
	}
	if k.SASLMechanism != "" {
		s += fmt.Sprintf(" (sasl %s as %q)", k.SASLMechanism, k.SASLUser)
	}
	return s
}

// Validate checks the settings without any I/O.
func (k Kafka) Validate() error {
	if len(k.Brokers) == 0 {
		return errors.New("brokers: at least one host:port is required")
	}
	for _, b := range k.Brokers {
		if b == "" || !strings.Contains(b, ":") {
			return fmt.Errorf("brokers: %q is not host:port", b)
		}
	}
	switch k.SASLMechanism {
	case "", "plain", "scram-sha-256", "scram-sha-512":
	default:
		return fmt.Errorf("kafka-sasl-mechanism: %q is not one of plain, scram-sha-256, scram-sha-512", k.SASLMechanism)
	}
	if k.SASLMechanism != "" && k.SASLUser == "" {
		return errors.New("kafka-sasl-user: required with a SASL mechanism")
	}
	return nil
}

// Opts returns the franz-go client options for the connection.
func (k Kafka) Opts() ([]kgo.Opt, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	opts := []kgo.Opt{kgo.SeedBrokers(k.Brokers...)}
	if k.TLS {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: k.InsecureSkipVerify} //nolint:gosec // opt-in for tests
		if k.CAFile != "" {
			pem, err := os.ReadFile(k.CAFile)
			if err != nil {
				return nil, fmt.Errorf("kafka-tls-ca: %w", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("kafka-tls-ca: %s holds no PEM certificate", k.CAFile)
			}
			cfg.RootCAs = pool
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	switch k.SASLMechanism {
	case "plain":
		opts = append(opts, kgo.SASL(plain.Auth{User: k.SASLUser, Pass: k.SASLPassword}.AsMechanism()))
	case "scram-sha-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: k.SASLUser, Pass: k.SASLPassword}.AsSha256Mechanism()))
	case "scram-sha-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: k.SASLUser, Pass: k.SASLPassword}.AsSha512Mechanism()))
	}
	return opts, nil
}
