package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keeps each start in one key, <prefix>start:<key>, with a TTL of the
// window; every script touches that key only, so it runs on a Redis
// Cluster as on a single node.

func (r *Redis) startKey(key string) string { return r.prefix + "start:" + key }

// claimStartScript writes ARGV[1] with a TTL of ARGV[2] ms unless a start
// other than ARGV[3] is there (ARGV[3] is a start the caller found expired
// by its clock), and answers "" when it wrote, else the start that is there.
var claimStartScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[3] then return cur end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ''`)

// startCASScript replaces (ARGV[2] set) or deletes (ARGV[2] empty) the start
// if it is still ARGV[1], keeping its TTL.
var startCASScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL') end
return 1`)

// ClaimStart implements Starts.
func (r *Redis) ClaimStart(ctx context.Context, key string, s Start, ttl time.Duration) (Start, bool, error) {
	if err := checkStart(key, s, ttl); err != nil {
		return Start{}, false, err
	}
	now := r.opt.now()
	if s.ClaimedAt.IsZero() {
		s.ClaimedAt = now
	}
	b, err := json.Marshal(startRecord{ExpiresAt: now.Add(ttl), Start: s})
	if err != nil {
		return Start{}, false, err
	}
	ms := strconv.FormatInt(max(ttl.Milliseconds(), 1), 10)
	expired := ""
	for range casAttempts {
		raw, err := claimStartScript.Run(ctx, r.c, []string{r.startKey(key)}, b, ms, expired).Text()
		if err != nil {
			return Start{}, false, unavailable("redis claim start", err)
		}
		if raw == "" {
			return Start{}, true, nil
		}
		cur, err := r.decodeStart(key, raw)
		if err != nil {
			return Start{}, false, err
		}
		if cur.live(now) {
			return cur.Start, false, nil
		}
		expired = raw
	}
	return Start{}, false, fmt.Errorf("%w: claim start %s: the start kept changing", ErrUnavailable, key)
}

// AnswerStart implements Starts.
func (r *Redis) AnswerStart(ctx context.Context, key string, s Start) error {
	return r.updateStart(ctx, key, s, func(cur *startRecord) (string, error) {
		cur.Start.Answer = s.Answer
		b, err := json.Marshal(cur)
		return string(b), err
	})
}

// ReleaseStart implements Starts.
func (r *Redis) ReleaseStart(ctx context.Context, key string, s Start) error {
	return r.updateStart(ctx, key, s, func(cur *startRecord) (string, error) {
		if len(cur.Start.Answer) > 0 {
			return "-", nil // answered: kept for the retries
		}
		return "", nil
	})
}

// updateStart replaces the start of key with what fn returns ("" deletes
// it, "-" leaves it), if it is s's live claim.
func (r *Redis) updateStart(ctx context.Context, key string, s Start, fn func(*startRecord) (string, error)) error {
	k := r.startKey(key)
	for range casAttempts {
		raw, err := r.c.Get(ctx, k).Result()
		if errors.Is(err, redis.Nil) {
			return fmt.Errorf("%w: %s", ErrNotClaimed, key)
		}
		if err != nil {
			return unavailable("redis GET", err)
		}
		cur, err := r.decodeStart(key, raw)
		if err != nil {
			return err
		}
		if !cur.live(r.opt.now()) || !s.owns(cur.Start) {
			return fmt.Errorf("%w: %s", ErrNotClaimed, key)
		}
		next, err := fn(&cur)
		if err != nil || next == "-" {
			return err
		}
		ok, err := startCASScript.Run(ctx, r.c, []string{k}, raw, next).Bool()
		if err != nil {
			return unavailable("redis update start", err)
		}
		if ok {
			return nil
		}
	}
	return fmt.Errorf("%w: update start %s: the start kept changing", ErrUnavailable, key)
}

func (r *Redis) decodeStart(key, raw string) (startRecord, error) {
	var cur startRecord
	if err := json.Unmarshal([]byte(raw), &cur); err != nil {
		return cur, fmt.Errorf("store: redis key %s is corrupt (delete it to drop the start): %w", r.startKey(key), err)
	}
	return cur, nil
}

var _ Starts = (*Redis)(nil)
