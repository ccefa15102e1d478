package precheck

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/syncline/syncline/internal/target/targetcheck"
	"github.com/syncline/syncline/internal/words"
)

// kafkaConn is the Kafka client of a run, once the brokers answered.
type kafkaConn struct {
	cl  *kgo.Client
	adm *kadm.Client
}

// close closes the client.
func (k *kafkaConn) close() { k.cl.Close() }

// checkKafkaBrokers asks the cluster for its metadata.
func checkKafkaBrokers(ctx context.Context, r *run) []Result {
	const name = "kafka.brokers"
	if len(r.cfg.Brokers) == 0 {
		return []Result{warn(name, "pass --brokers host:port,... to check the Kafka cluster capture writes to", "Kafka not checked: no brokers given")}
	}
	brokers := strings.Join(r.cfg.Brokers, ",")
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(r.cfg.Brokers...),
		kgo.DialTimeout(r.cfg.Timeout),
		kgo.RetryTimeout(r.cfg.Timeout),
		kgo.RequestRetries(2),
	)
	if err != nil {
		return []Result{fail(name, "check --brokers", "bad Kafka client settings for %s: %v", brokers, err)}
	}
	k := &kafkaConn{cl: cl, adm: kadm.NewClient(cl)}
	mctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	md, err := k.adm.BrokerMetadata(mctx)
	if err != nil {
		k.close()
		if mctx.Err() != nil {
			err = fmt.Errorf("no answer within %s", r.cfg.Timeout)
		}
		return []Result{fail(name, "check --brokers, and that the brokers' advertised listeners are reachable from here", "cannot reach Kafka at %s: %v", brokers, err)}
	}
	r.kafka = k
	return []Result{pass(name, "Kafka at %s answers (brokers: %d, controller: %d)", brokers, len(md.Brokers), md.Controller)}
}

// checkKafkaCreateTopic creates and deletes a scratch topic, as capture
// creates its topics.
func checkKafkaCreateTopic(ctx context.Context, r *run) []Result {
	const name = "kafka.create_topic"
	k := r.kafka
	if k == nil {
		return nil
	}
	topic := r.cfg.TopicPrefix + ".__precheck_" + targetcheck.RandomSuffix()
	cctx, cancel := context.WithTimeout(ctx, 2*r.cfg.Timeout)
	defer cancel()
	// -1: the broker's default replication factor.
	_, err := k.adm.CreateTopic(cctx, 1, -1, nil, topic)
	if err != nil {
		fix := "let the capture's Kafka user create topics with the prefix " + r.cfg.TopicPrefix + ", or create them beforehand"
		if errors.Is(err, kerr.TopicAuthorizationFailed) || errors.Is(err, kerr.ClusterAuthorizationFailed) {
			fix = "grant the capture's Kafka user CREATE on topics with the prefix " + r.cfg.TopicPrefix
		}
		return []Result{fail(name, fix, "cannot create topic %s: %v", topic, err)}
	}
	if _, err := k.adm.DeleteTopic(cctx, topic); err != nil {
		return []Result{warn(name, "delete topic "+topic+" by hand",
			"created topic %s but cannot delete it: %v", topic, err)}
	}
	return []Result{pass(name, "created and deleted topic %s", topic)}
}

// checkRegistry lists the registry's subjects.
func checkRegistry(ctx context.Context, r *run) []Result {
	const name = "kafka.registry"
	if r.cfg.RegistryURL == "" {
		return []Result{warn(name, "pass --registry http://host:port to check the schema registry capture registers schemas in", "schema registry not checked: no URL given")}
	}
	cl, err := sr.NewClient(sr.URLs(r.cfg.RegistryURL), sr.HTTPClient(&http.Client{Timeout: r.cfg.Timeout}))
	if err != nil {
		return []Result{fail(name, "check --registry", "bad schema registry URL %s: %v", r.cfg.RegistryURL, err)}
	}
	rctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	subjects, err := cl.Subjects(rctx)
	if err != nil {
		if rctx.Err() != nil {
			err = fmt.Errorf("no answer within %s", r.cfg.Timeout)
		}
		return []Result{fail(name, "check --registry: it must be a Confluent-compatible schema registry's base URL", "schema registry at %s does not answer: %v", r.cfg.RegistryURL, err)}
	}
	return []Result{pass(name, "schema registry at %s answers (%s)", r.cfg.RegistryURL, words.Plural(len(subjects), "subject", "subjects"))}
}
