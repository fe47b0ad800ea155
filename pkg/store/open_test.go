package store_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

func TestOpenFile(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	s, err := store.Open(ctx, "")
	require.NoError(t, err)
	f, ok := s.(*store.File)
	require.True(t, ok, "empty STORE_URL: the file store, got %T", s)
	assert.Equal(t, filepath.Join(tmp, "fc-kyc-store"), f.Dir(), "default directory under $TMPDIR")
	assert.Equal(t, store.DefaultDir(), f.Dir())

	dir := filepath.Join(t.TempDir(), "my store")
	s, err = store.Open(ctx, "file://"+strings.ReplaceAll(dir, " ", "%20"))
	require.NoError(t, err)
	assert.Equal(t, dir, s.(*store.File).Dir(), "file:///abs/dir, percent-decoded")
	require.NoError(t, s.Create(ctx, store.Transaction{TransactionID: "t"}))
	assert.DirExists(t, filepath.Join(dir, "tx"))
}

func TestOpenErrors(t *testing.T) {
	const secret = "hunter2-secret"
	cases := []struct{ url, want string }{
		{"file://relative/dir", "three slashes"},
		{"file:relative", "absolute"},
		{"file:///abs?x=1", "no user or query"},
		{"postgres://u:" + secret + "@h/db", `scheme "postgres" is not supported`},
		{"redis://:" + secret + "@h:6379/x", "STORE_URL"},
		{"redis://:" + secret + "@127.0.0.1:1/0?dial_timeout=200ms", "cannot reach redis"},
		{"redis://:" + secret + "@127.0.0.1:1/0?bogus=1", "bogus"},
		{"redis://:" + secret + "@127.0.0.1:1/0?read_timeout=-1", "must be positive"},
		{"redis://:" + secret + "@h:6379/0\x7f", "not a valid URL"},
		{"rediss://:" + secret + "@[::1", "not a valid URL"},
		{"redis+cluster://:" + secret + "@127.0.0.1:1/3", "database 0 only"},
		{"redis+cluster://:" + secret + "@127.0.0.1:1?dial_timeout=200ms&addr=127.0.0.1:2", "cannot reach redis at 127.0.0.1:1,127.0.0.1:2"},
		{"redis+cluster://:" + secret + "@127.0.0.1:1?bogus=1", "bogus"},
		{"redis://:" + secret + "@127.0.0.1:1/0?prefix=a{b}", "brace"},
		{"redis://:" + secret + "@127.0.0.1:1/0?tls_ca_file=/nonexistent.pem", "rediss://"},
		{"rediss://:" + secret + "@127.0.0.1:1/0?tls_ca_file=/nonexistent.pem", "tls_ca_file"},
	}
	for _, c := range cases {
		_, err := store.Open(context.Background(), c.url)
		require.Error(t, err, c.url)
		assert.Contains(t, err.Error(), "STORE_URL", "names the variable")
		assert.Contains(t, err.Error(), c.want)
		assert.NotContains(t, err.Error(), secret, "never shows the password")
	}
}

func TestOpenRedis(t *testing.T) {
	srv := testproc.Redis(t)
	ctx := context.Background()
	s, err := store.Open(ctx, srv.URL)
	require.NoError(t, err)
	defer s.Close()
	_, ok := s.(*store.Redis)
	require.True(t, ok, "redis:// opens the Redis driver, got %T", s)
	require.NoError(t, s.Create(ctx, store.Transaction{TransactionID: "t"}))

	// With a password: the right one works, a wrong one fails at Open
	// without showing it.
	c := client(t, srv)
	require.NoError(t, c.ConfigSet(ctx, "requirepass", "right-password").Err())
	host := strings.TrimPrefix(srv.URL, "redis://")
	s2, err := store.Open(ctx, "redis://:right-password@"+host)
	require.NoError(t, err)
	s2.Close()
	_, err = store.Open(ctx, "redis://:wrong-password@"+host)
	require.Error(t, err)
	assert.ErrorIs(t, err, store.ErrUnavailable)
	assert.NotContains(t, err.Error(), "wrong-password")

	// rediss:// to a server without TLS: the handshake fails at Open.
	_, err = store.Open(ctx, "rediss://:right-password@"+host+"?dial_timeout=1s")
	require.Error(t, err)
	assert.ErrorIs(t, err, store.ErrUnavailable)
	assert.NotContains(t, err.Error(), "right-password")
}

// The cluster and TLS forms open the Redis driver too.
func TestOpenRedisClusterAndTLS(t *testing.T) {
	ctx := context.Background()
	for name, raw := range map[string]func(t *testing.T) string{
		"redis+cluster": func(t *testing.T) string { return redisCluster(t).URL },
		"rediss":        func(t *testing.T) string { return testproc.RedisTLS(t).URL },
	} {
		t.Run(name, func(t *testing.T) {
			s, err := store.Open(ctx, withPrefix(raw(t), newPrefix()))
			require.NoError(t, err)
			defer s.Close()
			_, ok := s.(*store.Redis)
			require.True(t, ok, "%s opens the Redis driver, got %T", name, s)
			require.NoError(t, s.Create(ctx, store.Transaction{TransactionID: "t"}))
			got, err := s.Get(ctx, "t")
			require.NoError(t, err)
			assert.Equal(t, store.Pending, got.Status)
		})
	}
}

// FromEnv returns at once and reaches Redis in the background; ready
// reports the outcome in Open's words.
func TestFromEnvReachesRedisInTheBackground(t *testing.T) {
	const secret = "hunter2-secret"
	t.Run("unreachable", func(t *testing.T) {
		t.Setenv("STORE_URL", "redis://:"+secret+"@127.0.0.1:1/0?dial_timeout=200ms")
		s, ready, err := store.FromEnv()
		require.NoError(t, err, "a well-formed URL is not an error before Redis is reached")
		require.NotNil(t, s)
		err = ready()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "STORE_URL")
		assert.Contains(t, err.Error(), "cannot reach redis")
		assert.NotContains(t, err.Error(), secret, "never shows the password")
		assert.Equal(t, err, ready(), "asked again, the same answer")
	})
	t.Run("malformed: an error at once", func(t *testing.T) {
		t.Setenv("STORE_URL", "redis://:"+secret+"@127.0.0.1:1/0?bogus=1")
		_, _, err := store.FromEnv()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "STORE_URL")
	})
	t.Run("reachable", func(t *testing.T) {
		srv := testproc.Redis(t)
		t.Setenv("STORE_URL", srv.URL)
		s, ready, err := store.FromEnv()
		require.NoError(t, err)
		require.NoError(t, ready())
		require.NoError(t, s.Create(context.Background(), store.Transaction{TransactionID: "t-from-env"}))
	})
}
