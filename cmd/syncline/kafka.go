package main

import (
	"net/url"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"

	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/topics"
)

// Kafka connection flags, shared by capture and apply.
const (
	flagKafkaTLS          = "kafka-tls"
	flagKafkaTLSCA        = "kafka-tls-ca"
	flagKafkaTLSInsecure  = "kafka-tls-insecure"
	flagKafkaSASL         = "kafka-sasl-mechanism"
	flagKafkaSASLUser     = "kafka-sasl-user"
	flagKafkaSASLPassFile = "kafka-sasl-password-file"
	flagMetricsAddr       = "metrics-addr"
)

// kafkaFlags are the flags that reach Kafka and the registry.
func kafkaFlags() []cli.Flag {
	return []cli.Flag{
		altsrc.NewStringSliceFlag(&cli.StringSliceFlag{Name: flagBrokers, Usage: "Kafka seed brokers, comma-separated `host:port` (required)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagRegistry, Usage: "schema registry `URL`, http://host:port (required)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagTopicPrefix, Value: event.DefaultPrefix, Usage: "prefix of every topic of the task"}),
		altsrc.NewBoolFlag(&cli.BoolFlag{Name: flagKafkaTLS, Usage: "connect to Kafka with TLS"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagKafkaTLSCA, Usage: "PEM `FILE` of CA certificates for Kafka's TLS, added to the system's"}),
		altsrc.NewBoolFlag(&cli.BoolFlag{Name: flagKafkaTLSInsecure, Usage: "do not verify Kafka's certificate (tests only)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagKafkaSASL, Usage: "SASL mechanism: plain, scram-sha-256 or scram-sha-512"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagKafkaSASLUser, Usage: "SASL user name"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagKafkaSASLPassFile, Usage: "read the SASL password from `FILE` (or set SYNCLINE_KAFKA_SASL_PASSWORD)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagMetricsAddr, Usage: "serve /metrics, /healthz and /readyz on `HOST:PORT` (off when empty)"}),
	}
}

// oneShotKafkaFlags are kafkaFlags without --metrics-addr, for commands that
// run once and exit: nothing would scrape their metrics.
func oneShotKafkaFlags() []cli.Flag {
	var flags []cli.Flag
	for _, f := range kafkaFlags() {
		if f.Names()[0] != flagMetricsAddr {
			flags = append(flags, f)
		}
	}
	return flags
}

// kafkaConfig reads the Kafka flags. Every error is a usage error.
func kafkaConfig(c *cli.Context) (topics.Kafka, error) {
	k, err := newKafka(splitList(c.StringSlice(flagBrokers)), c.Bool(flagKafkaTLS), c.String(flagKafkaTLSCA),
		c.Bool(flagKafkaTLSInsecure), c.String(flagKafkaSASL), c.String(flagKafkaSASLUser), c.String(flagKafkaSASLPassFile))
	if err != nil {
		return k, usagef(c, "--%s: %v", flagKafkaSASLPassFile, err)
	}
	if err := requireFlags(c, flagBrokers, flagRegistry); err != nil {
		return k, err
	}
	if u, err := url.Parse(c.String(flagRegistry)); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return k, usagef(c, "invalid value %q for --%s: a URL such as http://registry:8081", c.String(flagRegistry), flagRegistry)
	}
	if err := k.Validate(); err != nil {
		return k, usagef(c, "%v", err)
	}
	return k, nil
}

// newKafka assembles Kafka connection settings, from flags or a task spec.
// A CA file implies TLS; the SASL password is read from passwordFile, else
// taken from SYNCLINE_KAFKA_SASL_PASSWORD. The only error is an unreadable
// password file.
func newKafka(brokers []string, tls bool, caFile string, insecure bool, mechanism, user, passwordFile string) (topics.Kafka, error) {
	k := topics.Kafka{
		Brokers: brokers, TLS: tls || caFile != "", CAFile: caFile, InsecureSkipVerify: insecure,
		SASLMechanism: strings.ToLower(mechanism), SASLUser: user, SASLPassword: os.Getenv("SYNCLINE_KAFKA_SASL_PASSWORD"),
	}
	if passwordFile != "" {
		b, err := os.ReadFile(passwordFile)
		if err != nil {
			return k, err
		}
		k.SASLPassword = strings.TrimRight(string(b), "\r\n")
	}
	return k, nil
}
