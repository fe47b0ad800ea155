package testproc

import (
	"context"
	"net"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The server answers, refuses connections while stopped, and comes back on
// the same URL with its data.
func TestRedisStopStart(t *testing.T) {
	srv := Redis(t)
	ctx := context.Background()
	opt, err := redis.ParseURL(srv.URL)
	require.NoError(t, err)
	opt.MaxRetries = -1
	c := redis.NewClient(opt)
	defer c.Close()

	require.NoError(t, c.Set(ctx, "k", "v", 0).Err())
	srv.Stop()
	assert.Error(t, ping(srv.Addr), "stopped server must not answer")
	assert.Error(t, c.Get(ctx, "k").Err())

	srv.Start()
	v, err := c.Get(ctx, "k").Result()
	require.NoError(t, err, "data kept across Stop/Start")
	assert.Equal(t, "v", v)

	cfg, err := c.ConfigGet(ctx, "save").Result()
	require.NoError(t, err)
	assert.Equal(t, "", cfg["save"], "no periodic persistence")
}

// A paused server accepts connections and answers nothing.
func TestRedisPauseResume(t *testing.T) {
	srv := Redis(t)
	srv.Pause()
	c, err := net.DialTimeout("tcp", srv.Addr, time.Second)
	require.NoError(t, err, "the kernel still accepts")
	require.NoError(t, c.SetDeadline(time.Now().Add(300*time.Millisecond)))
	_, err = c.Write([]byte("PING\r\n"))
	require.NoError(t, err)
	_, err = c.Read(make([]byte, 16))
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "no answer while paused")
	c.Close()
	srv.Resume()
	assert.NoError(t, ping(srv.Addr))
}

// A port another process took between FreePort and the bind is told apart
// from other failures, so that Redis tries another port instead of failing.
func TestRedisOnATakenPortIsToldApart(t *testing.T) {
	first := Redis(t) // skips without redis-server
	r := &RedisServer{t: t, bin: first.bin, dir: t.TempDir(), port: first.port, Addr: first.Addr}
	err := r.start()
	require.Error(t, err, "a second server on a taken port")
	assert.True(t, portTaken(err), "the error says the port was taken: %v", err)
	assert.False(t, portTaken(os.ErrNotExist))
}
