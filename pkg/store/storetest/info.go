package storetest

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// RedisInfo sums the fields of INFO section over the Redis servers at
// addrs; each server must report every field.
func RedisInfo(t testing.TB, section string, addrs []string, fields ...string) int64 {
	t.Helper()
	var n int64
	for _, addr := range addrs {
		c := redis.NewClient(&redis.Options{Addr: addr})
		info, err := c.Info(context.Background(), section).Result()
		c.Close()
		require.NoError(t, err)
		seen := 0
		for _, line := range strings.Split(info, "\r\n") {
			k, v, _ := strings.Cut(line, ":")
			if slices.Contains(fields, k) {
				i, err := strconv.ParseInt(v, 10, 64)
				require.NoError(t, err, "INFO %s of %s: %s", section, addr, line)
				n += i
				seen++
			}
		}
		require.Equal(t, len(fields), seen, "INFO %s of %s reports %v", section, addr, fields)
	}
	return n
}
