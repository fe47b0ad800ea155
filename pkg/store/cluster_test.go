package store_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/store/storetest"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// The package's Redis Cluster: started by the first test that needs it,
// shared by the rest, stopped by TestMain.
var cluster struct {
	once sync.Once
	c    *testproc.RedisCluster
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if cluster.c != nil {
		cluster.c.Close()
	}
	if cluster.dir != "" {
		os.RemoveAll(cluster.dir)
	}
	os.Exit(code)
}

// redisCluster returns the package's cluster, starting it on first use;
// the test is skipped when redis-server or redis-cli is missing.
func redisCluster(t *testing.T) *testproc.RedisCluster {
	t.Helper()
	cluster.once.Do(func() {
		cluster.dir, cluster.err = os.MkdirTemp("", "redis-cluster-")
		if cluster.err == nil {
			cluster.c, cluster.err = testproc.StartRedisCluster(cluster.dir)
		}
	})
	if errors.Is(cluster.err, testproc.ErrNoRedis) {
		t.Skip(cluster.err.Error())
	}
	require.NoError(t, cluster.err)
	return cluster.c
}

// The conformance suite on a real three-master Redis Cluster.
func TestRedisClusterConformance(t *testing.T) {
	c := redisCluster(t)
	storetest.Run(t, redisOpener(c.URL))
}

// The shards spread over the cluster's masters, and every key of one
// shard is in one slot (the scripts would fail with CROSSSLOT otherwise;
// this shows why they do not).
func TestRedisClusterSpreadsShards(t *testing.T) {
	c := redisCluster(t)
	ctx := context.Background()
	prefix := newPrefix()
	s := openRedis(t, c.URL, prefix, store.Options{})
	for i := range 200 {
		require.NoError(t, s.Create(ctx, store.Transaction{TransactionID: fmt.Sprintf("tx-%03d", i), MerchantBizID: "b"}))
	}
	perNode := map[string]int{}
	for _, addr := range c.Addrs {
		n := redis.NewClient(&redis.Options{Addr: addr})
		keys, err := n.Keys(ctx, prefix+"*").Result()
		n.Close()
		require.NoError(t, err)
		perNode[addr] = len(keys)
	}
	t.Logf("keys per master: %v", perNode)
	total := 0
	for addr, n := range perNode {
		assert.Positive(t, n, "master %s holds some shards", addr)
		total += n
	}
	assert.Equal(t, 200+store.Shards, total, "200 records and one index set per shard")

	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	defer cc.Close()
	for n := range store.Shards {
		tag := fmt.Sprintf("%s{%02x}", prefix, n)
		slot := cc.ClusterKeySlot(ctx, tag+"new").Val()
		for _, k := range []string{tag + "retry", tag + "undelivered", tag + "tx:anything"} {
			assert.Equal(t, slot, cc.ClusterKeySlot(ctx, k).Val(), k)
		}
	}
}

// The conformance suite on a real redis-server over TLS (rediss://), with
// a certificate authority the test made, given by tls_ca_file.
func TestRedisTLSConformance(t *testing.T) {
	srv := testproc.RedisTLS(t)
	storetest.Run(t, redisOpener(srv.URL))
}

// TLS is verified: without the authority the server's certificate is
// refused, and tls_ca_file needs rediss.
func TestRedisTLSVerifiesTheServer(t *testing.T) {
	srv := testproc.RedisTLS(t)
	ctx := context.Background()
	noCA, _, _ := strings.Cut(srv.URL, "?")
	_, err := store.OpenRedis(ctx, noCA+"?dial_timeout=1s", store.Options{})
	require.Error(t, err)
	assert.ErrorIs(t, err, store.ErrUnavailable)
	assert.Contains(t, err.Error(), "certificate")

	_, err = store.OpenRedis(ctx, "redis://127.0.0.1:1/0?tls_ca_file="+url.QueryEscape(srv.CAFile), store.Options{})
	assert.ErrorContains(t, err, "rediss://")

	bad := t.TempDir() + "/not-a-cert.pem"
	require.NoError(t, os.WriteFile(bad, []byte("hello"), 0o600))
	_, err = store.OpenRedis(ctx, noCA+"?tls_ca_file="+url.QueryEscape(bad), store.Options{})
	assert.ErrorContains(t, err, "no PEM certificate")
}
