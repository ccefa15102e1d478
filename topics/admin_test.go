package topics_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/testenv"
	"github.com/syncline/syncline/topics"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// TestEnsureRaisesRecordLimit: a table topic that exists with Kafka's
// default record limit (as an earlier version, or whoever provisions the
// cluster, created it) is raised to what capture produces, so that a 2 MB
// row is published; a topic that already accepts more keeps its setting.
func TestEnsureRaisesRecordLimit(t *testing.T) {
	ctx := context.Background()
	k := testenv.Kafka(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers...), kgo.ProducerBatchMaxBytes(topics.MaxBatchBytes))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	prefix := fmt.Sprintf("ensure_%d", time.Now().UnixNano())
	small, large := prefix+".small", prefix+".large"
	for name, limit := range map[string]string{small: "1048588", large: strconv.Itoa(2 * topics.MaxBatchBytes)} {
		if _, err := adm.CreateTopic(ctx, 1, -1, map[string]*string{"max.message.bytes": kadm.StringPtr(limit)}, name); err != nil {
			t.Fatal(err)
		}
	}
	row := make([]byte, 2<<20) // random: a batch is checked compressed
	if _, err := rand.NewChaCha8([32]byte{1}).Read(row); err != nil {
		t.Fatal(err)
	}
	big := &kgo.Record{Topic: small, Value: row}
	if err := cl.ProduceSync(ctx, big).FirstErr(); err == nil {
		t.Fatal("the topic with the default limit took a 2 MB record: the test proves nothing")
	}
	if err := topics.Ensure(ctx, adm, topics.TableSpec(small, 1), topics.TableSpec(large, 1)); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{small: topics.MaxBatchBytes, large: 2 * topics.MaxBatchBytes} {
		if got := recordLimit(t, adm, name); got != want {
			t.Errorf("%s: max.message.bytes %d after Ensure, want %d", name, got, want)
		}
	}
	big = &kgo.Record{Topic: small, Value: row}
	if err := cl.ProduceSync(ctx, big).FirstErr(); err != nil {
		t.Fatalf("a 2 MB record after Ensure: %v", err)
	}
}

func recordLimit(t *testing.T, adm *kadm.Client, topic string) int {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("configs of %s: %v %v", topic, err, rc.Err)
	}
	for _, c := range rc.Configs {
		if c.Key == "max.message.bytes" && c.Value != nil {
			n, err := strconv.Atoi(*c.Value)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("%s has no max.message.bytes", topic)
	return 0
}
