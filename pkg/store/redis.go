package store

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/idverify/fc-kyc/pkg/logging"
)

// Redis is the driver for deployments: ApsaraDB for Redis or Tair (standard,
// not cluster, edition: the scripts touch several keys) of version 6.0 or
// later (SET KEEPTTL), in the same VPC as the functions.
//
// Keys, all under the configured prefix:
//
//	<prefix>tx:<TransactionID>     the record (JSON), TTL = Retention from Create
//	<prefix>pending                sorted set of pending ids, scored by CreatedAt
//	<prefix>undelivered            sorted set of undelivered final ids, scored by NextAttempt
//	<prefix>hit:<key>:<ms>:<n>     a limit counter: window length, window number; TTL = end of the window
//
// Every change of a record and of the sets that index it is one Lua script,
// so they never disagree for long: Finish and SetDelivery are compare-and-
// set on the whole record (read, change in Go, write only if unchanged), so
// of any number of racing Finish calls exactly one records. A set member
// whose record has expired is removed by the scan that meets it. Scans cost
// O(log n + limit).
//
// Every failure to reach Redis is wrapped as ErrUnavailable. Commands are
// not retried by default: a retried script whose first run did reach the
// server could count a limit twice; the caller answers 5xx instead and its
// own sender (or the reconciler) tries again.
type Redis struct {
	c      *redis.Client
	prefix string
	opt    Options
}

// DefaultPrefix is the key prefix when the URL gives none.
const DefaultPrefix = "fc-kyc:"

// Connection defaults for what the URL leaves out. They bound how long a
// call waits for a Redis that is down or unreachable: one dial
// (dial_timeout) or one read (read_timeout), or pool_timeout when every
// connection is busy; a few seconds, well inside a function's deadline. A
// shorter ctx deadline also applies.
var redisDefaults = map[string]string{
	"dial_timeout":  "2s",
	"read_timeout":  "2s",
	"write_timeout": "2s",
	"pool_timeout":  "3s",
	"max_retries":   "-1", // go-redis: -1 disables retries (0 means its default of 3)
}

// OpenRedis connects to the Redis that rawURL names (redis:// or rediss://,
// see Open for the options) and checks, within ctx, that it answers.
// Errors never show the password.
func OpenRedis(ctx context.Context, rawURL string, o Options) (*Redis, error) {
	r, err := newRedis(rawURL, o)
	if err != nil {
		return nil, err
	}
	if err := r.ping(ctx); err != nil {
		r.c.Close()
		return nil, err
	}
	return r, nil
}

// newRedis reads rawURL and builds the client, without reaching Redis.
func newRedis(rawURL string, o Options) (*Redis, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("not a valid URL (value not shown: it may hold a password)")
	}
	q := u.Query()
	prefix := DefaultPrefix
	if q.Has("prefix") {
		prefix = q.Get("prefix")
		q.Del("prefix")
	}
	for k, v := range redisDefaults {
		if !q.Has(k) {
			q.Set(k, v)
		}
	}
	u.RawQuery = q.Encode()
	ro, err := redis.ParseURL(u.String())
	if err != nil {
		return nil, err // go-redis names the bad part only (scheme, db, option)
	}
	if ro.DialTimeout < 0 || ro.ReadTimeout < 0 || ro.WriteTimeout < 0 || ro.PoolTimeout < 0 {
		return nil, errors.New("dial_timeout, read_timeout, write_timeout and pool_timeout must be positive durations (such as 2s): a store call must never wait without bound")
	}
	if ro.TLSConfig != nil {
		ro.TLSConfig.MinVersion = tls.VersionTLS12
	}
	redisLogOnce.Do(func() { redis.SetLogger(redisLog{}) })
	ro.ContextTimeoutEnabled = true // a call's ctx deadline also bounds it
	ro.DialerRetries = 1            // one dial per attempt: 5 (the default) x dial_timeout would outlast a function's deadline
	// Each new connection otherwise spends two more round trips before its
	// first command: CLIENT SETINFO (a label for CLIENT LIST) and CLIENT
	// MAINT_NOTIFICATIONS (maintenance push notices of Redis Enterprise /
	// Redis Cloud, which ApsaraDB for Redis and Tair do not send). Neither
	// changes what a command does.
	ro.DisableIdentity = true
	ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return &Redis{c: redis.NewClient(ro), prefix: prefix, opt: o}, nil
}

// ping checks, within ctx, that Redis answers; the connection it opens
// stays in the pool for the first request.
func (r *Redis) ping(ctx context.Context) error {
	if err := r.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("%w: cannot reach redis at %s: %v", ErrUnavailable, r.c.Options().Addr, err)
	}
	return nil
}

var redisLogOnce sync.Once

// redisLog sends go-redis's own messages (failed dials and the like) to the
// request's JSON logger instead of a bare line on stderr. They carry
// addresses and error texts, never the password or a record.
type redisLog struct{}

func (redisLog) Printf(ctx context.Context, format string, v ...any) {
	logging.From(ctx).Warn("redis client", "detail", fmt.Sprintf(format, v...))
}

func (r *Redis) txKey(id string) string { return r.prefix + "tx:" + id }
func (r *Redis) pendingKey() string     { return r.prefix + "pending" }
func (r *Redis) undeliveredKey() string { return r.prefix + "undelivered" }

// createScript writes a new record unless a record other than ARGV[5] is
// there (ARGV[5] is a record the caller found expired by its clock).
var createScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[5] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZREM', KEYS[3], ARGV[4])
return 1`)

// casScript replaces a record only if it is still ARGV[1], keeping its TTL,
// takes it out of the pending set, and puts it in (score ARGV[4]) or takes it
// out of (ARGV[4] empty) the undelivered set.
var casScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
redis.call('ZREM', KEYS[2], ARGV[3])
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[3], ARGV[3])
else
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
end
return 1`)

// hitScript counts one event and makes sure the counter expires.
var hitScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`)

// casAttempts bounds the compare-and-set loop. A loser of a race re-reads
// and normally finds the transaction final at once; only a record that keeps
// changing under the caller exhausts it.
const casAttempts = 8

// read returns the raw and decoded live record of id; found is false when it
// is absent or expired by the driver's clock.
func (r *Redis) read(ctx context.Context, id string) (raw string, rec record, found bool, err error) {
	raw, err = r.c.Get(ctx, r.txKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return "", record{}, false, nil
	}
	if err != nil {
		return "", record{}, false, unavailable("redis GET", err)
	}
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		return "", record{}, false, fmt.Errorf("store: redis key %s is corrupt (delete it to drop the record): %w", r.txKey(id), err)
	}
	return raw, rec, rec.live(r.opt.now()), nil
}

// Create implements Store.
func (r *Redis) Create(ctx context.Context, t Transaction) error {
	rec, err := newRecord(t, r.opt)
	if err != nil {
		return err
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	keys := []string{r.txKey(t.TransactionID), r.pendingKey(), r.undeliveredKey()}
	ttl := strconv.FormatInt(r.opt.retention().Milliseconds(), 10)
	sc := strconv.FormatInt(score(rec.Tx.CreatedAt), 10)
	expired := "" // no record may be there
	for range casAttempts {
		ok, err := createScript.Run(ctx, r.c, keys, b, ttl, sc, t.TransactionID, expired).Bool()
		if err != nil {
			return unavailable("redis create", err)
		}
		if ok {
			return nil
		}
		raw, _, live, err := r.read(ctx, t.TransactionID)
		if err != nil {
			return err
		}
		if live {
			return fmt.Errorf("%w: %s", ErrExists, t.TransactionID)
		}
		expired = raw // "" if it vanished meanwhile: then any record present is new
	}
	return fmt.Errorf("%w: create %s: the record kept changing", ErrUnavailable, t.TransactionID)
}

// Get implements Store.
func (r *Redis) Get(ctx context.Context, id string) (Transaction, error) {
	_, rec, found, err := r.read(ctx, id)
	if err != nil {
		return Transaction{}, err
	}
	if !found {
		return Transaction{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return rec.Tx, nil
}

// update is the compare-and-set loop of Finish and SetDelivery: fn changes
// the record (write false: leave it).
func (r *Redis) update(ctx context.Context, id string, fn func(*record) (write bool, err error)) error {
	keys := []string{r.txKey(id), r.pendingKey(), r.undeliveredKey()}
	for range casAttempts {
		raw, rec, found, err := r.read(ctx, id)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		write, err := fn(&rec)
		if err != nil || !write {
			return err
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		undelivered := "" // delivered: out of the set
		if !rec.Tx.Delivery.Delivered {
			undelivered = strconv.FormatInt(score(rec.Tx.Delivery.NextAttempt), 10)
		}
		ok, err := casScript.Run(ctx, r.c, keys, raw, b, id, undelivered).Bool()
		if err != nil {
			return unavailable("redis update", err)
		}
		if ok {
			return nil
		}
	}
	return fmt.Errorf("%w: update %s: the record kept changing", ErrUnavailable, id)
}

// Finish implements Store.
func (r *Redis) Finish(ctx context.Context, id string, status Status, res Result) (bool, error) {
	if err := checkFinal(status); err != nil {
		return false, err
	}
	recorded := false
	err := r.update(ctx, id, func(rec *record) (bool, error) {
		recorded = false // a lost compare-and-set runs fn again
		if rec.Tx.Status.Final() {
			return false, nil
		}
		finish(&rec.Tx, status, res, r.opt.now())
		recorded = true
		return true, nil
	})
	if err != nil {
		return false, err
	}
	return recorded, nil
}

// SetDelivery implements Store.
func (r *Redis) SetDelivery(ctx context.Context, id string, d Delivery) error {
	return r.update(ctx, id, func(rec *record) (bool, error) {
		if !rec.Tx.Status.Final() {
			return false, fmt.Errorf("%w: %s", ErrNotFinal, id)
		}
		rec.Tx.Delivery = d
		return true, nil
	})
}

// Pending implements Store.
func (r *Redis) Pending(ctx context.Context, createdBefore time.Time, limit int) ([]Transaction, error) {
	return r.scan(ctx, r.pendingKey(), score(createdBefore), limit, func(t Transaction) bool {
		return t.Status == Pending
	})
}

// Undelivered implements Store.
func (r *Redis) Undelivered(ctx context.Context, due time.Time, limit int) ([]Transaction, error) {
	return r.scan(ctx, r.undeliveredKey(), score(due), limit, func(t Transaction) bool {
		return t.Status.Final() && !t.Delivery.Delivered
	})
}

// scan lists the members of set scored at most max, in order, and returns
// up to limit live records that keep accepts. Members whose record has
// expired are removed.
func (r *Redis) scan(ctx context.Context, set string, max int64, limit int, keep func(Transaction) bool) ([]Transaction, error) {
	var out []Transaction
	var stale []any
	now := r.opt.now()
	for offset := int64(0); len(out) < limit; {
		ids, err := r.c.ZRangeByScore(ctx, set, &redis.ZRangeBy{
			Min: "-inf", Max: strconv.FormatInt(max, 10), Offset: offset, Count: int64(limit - len(out)),
		}).Result()
		if err != nil {
			return nil, unavailable("redis scan", err)
		}
		if len(ids) == 0 {
			break
		}
		offset += int64(len(ids))
		keys := make([]string, len(ids))
		for i, id := range ids {
			keys[i] = r.txKey(id)
		}
		vals, err := r.c.MGet(ctx, keys...).Result()
		if err != nil {
			return nil, unavailable("redis scan", err)
		}
		for i, v := range vals {
			s, ok := v.(string)
			if !ok { // the record's TTL fired
				stale = append(stale, ids[i])
				continue
			}
			var rec record
			if err := json.Unmarshal([]byte(s), &rec); err != nil {
				return nil, fmt.Errorf("store: redis key %s is corrupt (delete it to drop the record): %w", keys[i], err)
			}
			if rec.live(now) && keep(rec.Tx) {
				out = append(out, rec.Tx)
			}
		}
	}
	if len(stale) > 0 {
		// Best effort: a member left behind is removed by the next scan.
		_ = sweepScript.Run(ctx, r.c, []string{set}, append([]any{r.txKey("")}, stale...)...).Err()
	}
	return out, nil
}

// sweepScript removes from the set KEYS[1] the ids ARGV[2...] whose record
// (key ARGV[1]..id) no longer exists. Checking inside the script keeps a
// record created again meanwhile in its set.
var sweepScript = redis.NewScript(`
for i = 2, #ARGV do
  if redis.call('EXISTS', ARGV[1] .. ARGV[i]) == 0 then redis.call('ZREM', KEYS[1], ARGV[i]) end
end
return 0`)

// Hit implements Store.
func (r *Redis) Hit(ctx context.Context, key string, window time.Duration) (int64, time.Duration, error) {
	now := r.opt.now()
	index, end, err := windowOf(now, window)
	if err != nil {
		return 0, 0, err
	}
	resetIn := end.Sub(now)
	// The counter outlives its window by a second so that instances whose
	// clocks differ slightly still count into the same key.
	ttl := (resetIn + time.Second).Milliseconds()
	k := r.prefix + "hit:" + key + ":" + strconv.FormatInt(window.Milliseconds(), 10) + ":" + strconv.FormatInt(index, 10)
	n, err := hitScript.Run(ctx, r.c, []string{k}, ttl).Int64()
	if err != nil {
		return 0, 0, unavailable("redis hit", err)
	}
	return n, resetIn, nil
}

// Close implements Store.
func (r *Redis) Close() error { return r.c.Close() }

var _ Store = (*Redis)(nil)
