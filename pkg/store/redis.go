package store

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/idverify/fc-kyc/pkg/logging"
)

// Redis is the driver for deployments: ApsaraDB for Redis or Tair, standard
// or cluster edition (the cluster in direct-connection mode), of version
// 6.0 or later (SET KEEPTTL), in the same VPC as the functions; plain or
// over TLS.
//
// Keys, all under the configured prefix. Each transaction belongs to one of
// Shards shards, fixed by a hash of its TransactionID; a shard's keys carry
// the same hash tag ({00} to {0f}), so on a cluster they live in one slot
// and every script touches one slot only:
//
//	<prefix>{<shard>}tx:<TransactionID>  the record (JSON), TTL = Retention from Create
//	<prefix>{<shard>}new                 sorted set: pending ids never checked, scored by CreatedAt
//	<prefix>{<shard>}retry               sorted set: pending ids checked before, scored by NextCheck
//	<prefix>{<shard>}undelivered         sorted set: undelivered final ids, scored by NextAttempt
//	<prefix>{<group>}gcra:<key>          a limit's cell (see Admit): its TAT; TTL = a second past it
//	<prefix>start:<key>                  the claim of an idempotent start (see ClaimStart); TTL = the window
//	<prefix>ref:<r>                      the Lookup index: an owner's order id to its TransactionID,
//	                                     r = sha256 of kind, owner and order id; TTL = the record's
//	<prefix>layout                       "2" once a standard instance is in this layout (see migrate)
//
// Every change of a record and of the sets that index it is one Lua script
// on its shard, so they never disagree for long: Finish, Reschedule and
// SetDelivery are compare-and-set on the whole record (read, change in Go,
// write only if unchanged), so of any number of racing Finish calls exactly
// one records. Due and Undelivered ask every shard's set for its first
// members (one pipelined round trip, O(Shards × (log n + limit))), merge
// them, and read only the records they return (at most limit). A set member
// whose record has expired is removed by the scan that meets it.
//
// Every failure to reach Redis is wrapped as ErrUnavailable. Commands are
// not retried by default: a retried script whose first run did reach the
// server could count a limit twice; the caller answers 5xx instead and its
// own sender (or the reconciler) tries again.
type Redis struct {
	c       redis.UniversalClient
	prefix  string
	opt     Options
	addr    string // for messages: the host:port (a cluster's seeds), never the password
	cluster bool
}

// Shards is the number of shards the Redis driver spreads transactions and
// their indexes over. It is part of the key layout: changing it would
// orphan the records already stored. 16 spreads the load over the masters
// of any cluster up to some 16 shards and costs a scan 16 small range
// reads per index, pipelined.
const Shards = 16

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

// OpenRedis connects to the Redis that rawURL names and checks, within ctx,
// that it answers. The URL forms (see Open):
//
//	redis://[:password@]host:port/db              one instance (standard edition)
//	rediss://...                                  the same over TLS
//	redis+cluster://[:password@]host:port?addr=host2:port2&addr=...
//	                                              a cluster: any masters as seeds
//	rediss+cluster://...                          a cluster over TLS
//
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
	cluster := strings.HasSuffix(u.Scheme, "+cluster")
	u.Scheme = strings.TrimSuffix(u.Scheme, "+cluster")
	q := u.Query()
	prefix := DefaultPrefix
	if q.Has("prefix") {
		prefix = q.Get("prefix")
		q.Del("prefix")
	}
	if strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("prefix %q holds a brace: the driver puts its own hash tag ({shard}) after the prefix, so that a cluster spreads the shards over its slots; choose a prefix without { or }", prefix)
	}
	var roots *x509.CertPool
	if q.Has("tls_ca_file") {
		if u.Scheme != "rediss" {
			return nil, errors.New("tls_ca_file is for TLS: use rediss:// (or rediss+cluster://)")
		}
		if roots, err = loadRoots(q.Get("tls_ca_file")); err != nil {
			return nil, err
		}
		q.Del("tls_ca_file")
	}
	for k, v := range redisDefaults {
		if !q.Has(k) {
			q.Set(k, v)
		}
	}
	u.RawQuery = q.Encode()
	redisLogOnce.Do(func() { redis.SetLogger(redisLog{}) })
	var (
		c    redis.UniversalClient
		addr string
		tlsc *tls.Config
	)
	// Each new connection otherwise spends two more round trips before its
	// first command: CLIENT SETINFO (a label for CLIENT LIST) and CLIENT
	// MAINT_NOTIFICATIONS (maintenance push notices of Redis Enterprise /
	// Redis Cloud, which ApsaraDB for Redis and Tair do not send). Neither
	// changes what a command does.
	noMaint := &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	if cluster {
		if u.Path != "" && u.Path != "/" && u.Path != "/0" {
			return nil, errors.New("a cluster has database 0 only: leave the path out (redis+cluster://host:port?addr=host2:port2)")
		}
		u.Path = ""
		co, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return nil, err // go-redis names the bad part only
		}
		if err := positiveTimeouts(co.DialTimeout, co.ReadTimeout, co.WriteTimeout, co.PoolTimeout); err != nil {
			return nil, err
		}
		co.ContextTimeoutEnabled = true
		co.DialerRetries = 1
		co.DisableIdentity = true
		co.MaintNotificationsConfig = noMaint
		tlsc, addr = co.TLSConfig, strings.Join(co.Addrs, ",")
		setRoots(tlsc, roots)
		c = redis.NewClusterClient(co)
	} else {
		ro, err := redis.ParseURL(u.String())
		if err != nil {
			return nil, err // go-redis names the bad part only (scheme, db, option)
		}
		if err := positiveTimeouts(ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout, ro.PoolTimeout); err != nil {
			return nil, err
		}
		ro.ContextTimeoutEnabled = true // a call's ctx deadline also bounds it
		ro.DialerRetries = 1            // one dial per attempt: 5 (the default) x dial_timeout would outlast a function's deadline
		ro.DisableIdentity = true
		ro.MaintNotificationsConfig = noMaint
		tlsc, addr = ro.TLSConfig, ro.Addr
		setRoots(tlsc, roots)
		c = redis.NewClient(ro)
	}
	return &Redis{c: c, prefix: prefix, opt: o, addr: addr, cluster: cluster}, nil
}

// ping checks, within ctx, that Redis answers (the connection it opens
// stays in the pool for the first request), and moves a standard
// instance's records written in the first layout into this one.
func (r *Redis) ping(ctx context.Context) error {
	if err := r.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("%w: cannot reach redis at %s: %v", ErrUnavailable, r.addr, err)
	}
	if !r.cluster {
		if err := r.migrate(ctx); err != nil {
			return err
		}
	}
	return nil
}

func positiveTimeouts(ds ...time.Duration) error {
	for _, d := range ds {
		if d < 0 {
			return errors.New("dial_timeout, read_timeout, write_timeout and pool_timeout must be positive durations (such as 2s): a store call must never wait without bound")
		}
	}
	return nil
}

// setRoots makes a TLS configuration (nil: no TLS) demand TLS 1.2 or later
// and, when roots is set, trust only those authorities.
func setRoots(c *tls.Config, roots *x509.CertPool) {
	if c == nil {
		return
	}
	c.MinVersion = tls.VersionTLS12
	if roots != nil {
		c.RootCAs = roots
	}
}

// loadRoots reads the PEM certificates of tls_ca_file: the authority that
// signed the server's certificate (ApsaraDB for Redis offers its CA
// certificate for download with TLS), when the system does not trust it.
func loadRoots(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tls_ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("tls_ca_file %s holds no PEM certificate (want the CA certificate, -----BEGIN CERTIFICATE-----)", path)
	}
	return pool, nil
}

var redisLogOnce sync.Once

// redisLog sends go-redis's own messages (failed dials and the like) to the
// request's JSON logger instead of a bare line on stderr. They carry
// addresses and error texts, never the password or a record.
type redisLog struct{}

func (redisLog) Printf(ctx context.Context, format string, v ...any) {
	logging.From(ctx).Warn("redis client", "detail", fmt.Sprintf(format, v...))
}

// shardOf is the shard of a TransactionID: FNV-1a, stable across processes
// and versions (part of the key layout, as Shards is).
func shardOf(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % Shards)
}

// tag is the start of every key of shard n: the prefix and the hash tag.
func (r *Redis) tag(n int) string { return r.prefix + "{" + fmt.Sprintf("%02x", n) + "}" }

func (r *Redis) txKey(id string) string { return r.tag(shardOf(id)) + "tx:" + id }

// The index sets of a shard, in the order of the scripts' KEYS[2..4].
const (
	setNew = iota
	setRetry
	setUndelivered
	nSets
)

var setNames = [nSets]string{"new", "retry", "undelivered"}

func (r *Redis) setKey(shard, set int) string { return r.tag(shard) + setNames[set] }

// keys are the record's key and its shard's index sets: KEYS of the scripts.
func (r *Redis) keys(id string) []string {
	n := shardOf(id)
	return []string{r.txKey(id), r.setKey(n, setNew), r.setKey(n, setRetry), r.setKey(n, setUndelivered)}
}

// indexScores are the scores of t in the sets new, retry and undelivered,
// "" where it does not belong.
func indexScores(t Transaction) [nSets]string {
	var out [nSets]string
	switch {
	case t.Status == Pending && t.Checks == 0:
		out[setNew] = strconv.FormatInt(score(t.CreatedAt), 10)
	case t.Status == Pending:
		out[setRetry] = strconv.FormatInt(score(t.NextCheck), 10)
	case t.undelivered():
		out[setUndelivered] = strconv.FormatInt(score(t.Delivery.NextAttempt), 10)
	}
	return out
}

// indexLua puts ARGV[3] (the id) into each set KEYS[2..4] whose score
// ARGV[4..6] is given and takes it out of the others.
const indexLua = `
for i = 2, 4 do
  local sc = ARGV[i + 2]
  if sc == '' then redis.call('ZREM', KEYS[i], ARGV[3]) else redis.call('ZADD', KEYS[i], sc, ARGV[3]) end
end
return 1`

// createScript writes a new record (ARGV[1], TTL ARGV[2] ms) unless a
// record other than ARGV[7] is there (ARGV[7] is a record the caller found
// expired by its clock), and indexes it.
var createScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[7] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])` + indexLua)

// casScript replaces a record only if it is still ARGV[1], keeping its TTL,
// with ARGV[2], and indexes it.
var casScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')` + indexLua)

// casAttempts bounds the compare-and-set loop. A loser of a race re-reads
// and normally finds the transaction final at once; only a record that keeps
// changing under the caller exhausts it.
const casAttempts = 8

func (r *Redis) decode(key, raw string) (record, error) {
	var rec record
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		return record{}, fmt.Errorf("store: redis key %s is corrupt (delete it to drop the record): %w", key, err)
	}
	return rec, nil
}

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
	if rec, err = r.decode(r.txKey(id), raw); err != nil {
		return "", record{}, false, err
	}
	return raw, rec, rec.live(r.opt.now()), nil
}

// createArgs are createScript's ARGV for the record rec, which is expected
// to replace expired ("" when no record may be there).
func (r *Redis) createArgs(rec record, expired string) ([]any, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	sc := indexScores(rec.Tx)
	ttl := strconv.FormatInt(r.opt.retention().Milliseconds(), 10)
	return []any{b, ttl, rec.Tx.TransactionID, sc[0], sc[1], sc[2], expired}, nil
}

// Create implements Store.
func (r *Redis) Create(ctx context.Context, t Transaction) error {
	rec, err := newRecord(t, r.opt)
	if err != nil {
		return err
	}
	keys := r.keys(t.TransactionID)
	expired := "" // no record may be there
	for range casAttempts {
		args, err := r.createArgs(rec, expired)
		if err != nil {
			return err
		}
		ok, err := createScript.Run(ctx, r.c, keys, args...).Bool()
		if err != nil {
			return unavailable("redis create", err)
		}
		if ok {
			return r.index(ctx, rec)
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

// CreateMany creates transactions in bulk, pipelined (a round trip per
// thousand, four pipelines at a time), for loading a backlog (tests,
// migrations): unlike Create it does not read back a clash nor write Lookup
// entries, and reports how many were created (an id already present is
// skipped, not replaced).
func (r *Redis) CreateMany(ctx context.Context, ts []Transaction) (created int, err error) {
	if err := createScript.Load(ctx, r.c).Err(); err != nil {
		return 0, unavailable("redis script load", err)
	}
	const chunk, workers = 1000, 4
	chunks := make(chan []Transaction)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range chunks {
				n, err := r.createChunk(ctx, c)
				mu.Lock()
				created += n
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		}()
	}
	for len(ts) > 0 {
		n := min(chunk, len(ts))
		chunks <- ts[:n]
		ts = ts[n:]
	}
	close(chunks)
	wg.Wait()
	return created, errors.Join(errs...)
}

// createChunk is one pipeline of CreateMany.
func (r *Redis) createChunk(ctx context.Context, ts []Transaction) (created int, err error) {
	pipe := r.c.Pipeline()
	cmds := make([]*redis.Cmd, 0, len(ts))
	for _, t := range ts {
		rec, err := newRecord(t, r.opt)
		if err != nil {
			return 0, err
		}
		args, err := r.createArgs(rec, "")
		if err != nil {
			return 0, err
		}
		cmds = append(cmds, createScript.EvalSha(ctx, pipe, r.keys(t.TransactionID), args...))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, unavailable("redis create many", err)
	}
	for _, c := range cmds {
		if ok, _ := c.Bool(); ok {
			created++
		}
	}
	return created, nil
}

// index writes the Lookup entry of a created record that has an Owner. It
// is a key of its own (another slot on a cluster than the record), written
// after the record: an entry never names a record that was not created.
func (r *Redis) index(ctx context.Context, rec record) error {
	t := rec.Tx
	if t.Owner == "" {
		return nil
	}
	ttl := max(rec.ExpiresAt.Sub(r.opt.now()), time.Millisecond)
	if err := r.c.Set(ctx, r.refKey(t.Kind, t.MerchantBizID, t.Owner), t.TransactionID, ttl).Err(); err != nil {
		return unavailable("redis SET ref", err)
	}
	return nil
}

func (r *Redis) refKey(kind, merchantBizID, owner string) string {
	return r.prefix + "ref:" + refName(kind, merchantBizID, owner)
}

// Lookup implements Store.
func (r *Redis) Lookup(ctx context.Context, kind, merchantBizID, owner string) (Transaction, error) {
	if owner == "" {
		return Transaction{}, fmt.Errorf("%w: %s", ErrNotFound, merchantBizID)
	}
	id, err := r.c.Get(ctx, r.refKey(kind, merchantBizID, owner)).Result()
	if errors.Is(err, redis.Nil) {
		return Transaction{}, fmt.Errorf("%w: %s", ErrNotFound, merchantBizID)
	}
	if err != nil {
		return Transaction{}, unavailable("redis GET ref", err)
	}
	t, err := r.Get(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && !owns(t, kind, merchantBizID, owner)) {
		return Transaction{}, fmt.Errorf("%w: %s", ErrNotFound, merchantBizID)
	}
	return t, err
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

// update is the compare-and-set loop of Finish, Reschedule and
// SetDelivery: fn changes the record (write false: leave it).
func (r *Redis) update(ctx context.Context, id string, fn func(*record) (write bool, err error)) error {
	keys := r.keys(id)
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
		sc := indexScores(rec.Tx)
		ok, err := casScript.Run(ctx, r.c, keys, raw, b, id, sc[0], sc[1], sc[2]).Bool()
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
	return finishVia(ctx, r.update, r.opt.now, id, status, res)
}

// Reschedule implements Store.
func (r *Redis) Reschedule(ctx context.Context, id string, next time.Time) error {
	return rescheduleVia(ctx, r.update, id, next)
}

// SetDelivery implements Store.
func (r *Redis) SetDelivery(ctx context.Context, id string, d Delivery) error {
	return setDeliveryVia(ctx, r.update, id, d)
}

// member is an index entry met by a scan.
type member struct {
	id    string
	score int64
	shard int
	set   int
}

// Due implements Store.
func (r *Redis) Due(ctx context.Context, firstBefore, now time.Time, limit int) ([]Transaction, error) {
	if limit <= 0 {
		return nil, nil
	}
	ms, err := r.members(ctx, limit, []rangeSpec{
		{set: setNew, max: score(firstBefore), rev: true},
		{set: setRetry, max: score(now)},
	})
	if err != nil {
		return nil, err
	}
	fresh, retry := splitBy(ms, setNew)
	sortMembers(fresh, true)
	sortMembers(retry, false)
	picked := slices.Concat(head(fresh, limit), head(retry, limit-min(limit, len(fresh))))
	return r.load(ctx, picked, func(set int, t Transaction) bool {
		return t.Status == Pending && (t.Checks == 0) == (set == setNew)
	})
}

// Undelivered implements Store.
func (r *Redis) Undelivered(ctx context.Context, due time.Time, limit int) ([]Transaction, error) {
	if limit <= 0 {
		return nil, nil
	}
	ms, err := r.members(ctx, limit, []rangeSpec{{set: setUndelivered, max: score(due)}})
	if err != nil {
		return nil, err
	}
	sortMembers(ms, false)
	return r.load(ctx, head(ms, limit), func(_ int, t Transaction) bool {
		return t.undelivered()
	})
}

// rangeSpec is one index read of a scan: the members of set scored at most
// max, lowest first (or highest first when rev).
type rangeSpec struct {
	set int
	max int64
	rev bool
}

// members reads, in one pipeline, up to limit members of each spec's set
// on every shard: index entries only, no record.
func (r *Redis) members(ctx context.Context, limit int, specs []rangeSpec) ([]member, error) {
	type q struct {
		shard, set int
		cmd        *redis.ZSliceCmd
	}
	pipe := r.c.Pipeline()
	var qs []q
	for n := range Shards {
		for _, sp := range specs {
			rng := &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(sp.max, 10), Count: int64(limit)}
			var cmd *redis.ZSliceCmd
			if sp.rev {
				cmd = pipe.ZRevRangeByScoreWithScores(ctx, r.setKey(n, sp.set), rng)
			} else {
				cmd = pipe.ZRangeByScoreWithScores(ctx, r.setKey(n, sp.set), rng)
			}
			qs = append(qs, q{n, sp.set, cmd})
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, unavailable("redis scan", err)
	}
	var out []member
	for _, q := range qs {
		for _, z := range q.cmd.Val() {
			out = append(out, member{id: z.Member.(string), score: int64(z.Score), shard: q.shard, set: q.set})
		}
	}
	return out, nil
}

// splitBy separates the members of set from the others.
func splitBy(ms []member, set int) (in, out []member) {
	for _, m := range ms {
		if m.set == set {
			in = append(in, m)
		} else {
			out = append(out, m)
		}
	}
	return in, out
}

// sortMembers orders by score (highest first when desc), then by id.
func sortMembers(ms []member, desc bool) {
	slices.SortFunc(ms, func(a, b member) int {
		if c := cmp.Compare(a.score, b.score); c != 0 {
			if desc {
				return -c
			}
			return c
		}
		return strings.Compare(a.id, b.id)
	})
}

// load reads the records of ms (one MGET per shard, pipelined) and returns,
// in the order of ms, the live ones that keep accepts. Members whose
// record is gone are removed from their set.
func (r *Redis) load(ctx context.Context, ms []member, keep func(set int, t Transaction) bool) ([]Transaction, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	byShard := map[int][]int{} // shard -> indexes into ms
	for i, m := range ms {
		byShard[m.shard] = append(byShard[m.shard], i)
	}
	pipe := r.c.Pipeline()
	cmds := map[int]*redis.SliceCmd{}
	for n, idx := range byShard {
		keys := make([]string, len(idx))
		for j, i := range idx {
			keys[j] = r.txKey(ms[i].id)
		}
		cmds[n] = pipe.MGet(ctx, keys...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, unavailable("redis scan", err)
	}
	recs := make([]*record, len(ms))
	var stale []member
	for n, idx := range byShard {
		for j, v := range cmds[n].Val() {
			m := ms[idx[j]]
			s, ok := v.(string)
			if !ok { // the record's TTL fired
				stale = append(stale, m)
				continue
			}
			rec, err := r.decode(r.txKey(m.id), s)
			if err != nil {
				return nil, err
			}
			recs[idx[j]] = &rec
		}
	}
	now := r.opt.now()
	var out []Transaction
	for i, rec := range recs {
		if rec != nil && rec.live(now) && keep(ms[i].set, rec.Tx) {
			out = append(out, rec.Tx)
		}
	}
	// Best effort: a member left behind is removed by the next scan.
	for _, m := range stale {
		_ = sweepScript.Run(ctx, r.c, []string{r.setKey(m.shard, m.set), r.txKey(m.id)}, m.id).Err()
	}
	return out, nil
}

// sweepScript removes the id ARGV[1] from the set KEYS[1] if its record
// KEYS[2] no longer exists. Checking inside the script keeps a record
// created again meanwhile in its set.
var sweepScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0`)

// layoutVersion is the key layout described on Redis, kept in
// <prefix>layout once a store is in it. Version 1 (no such key) had one
// unsharded set of pending ids and records at <prefix>tx:<id>; it ran on a
// standard (non-cluster) instance only.
const layoutVersion = "2"

// migrate moves the records of the version 1 layout, if any, into this
// one, with their TTLs, indexed as pending (never checked), undelivered or
// neither, then marks the store as version 2. It runs once: a store marked
// version 2 costs one GET. Several processes may run it at once: each
// record moves once (compare-and-set), and a process interrupted half way
// leaves the rest to the next start.
func (r *Redis) migrate(ctx context.Context) error {
	mark := r.prefix + "layout"
	v, err := r.c.Get(ctx, mark).Result()
	if err == nil && v == layoutVersion {
		return nil
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return unavailable("redis layout", err)
	}
	old := r.prefix + "tx:"
	iter := r.c.Scan(ctx, 0, escapeGlob(old)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		id := strings.TrimPrefix(key, old)
		raw, err := r.c.Get(ctx, key).Result()
		if errors.Is(err, redis.Nil) {
			continue // expired or moved by another process meanwhile
		}
		if err != nil {
			return unavailable("redis migrate", err)
		}
		rec, err := r.decode(key, raw)
		if err != nil {
			return err
		}
		sc := indexScores(rec.Tx)
		keys := append([]string{key}, r.keys(id)...)
		if err := migrateScript.Run(ctx, r.c, keys, raw, id, sc[0], sc[1], sc[2]).Err(); err != nil {
			return unavailable("redis migrate", err)
		}
	}
	if err := iter.Err(); err != nil {
		return unavailable("redis migrate", err)
	}
	if err := r.c.Del(ctx, r.prefix+"pending", r.prefix+"undelivered").Err(); err != nil {
		return unavailable("redis migrate", err)
	}
	return unavailableIf("redis layout", r.c.Set(ctx, mark, layoutVersion, 0).Err())
}

// migrateScript moves the version 1 record KEYS[1], if it is still ARGV[1],
// to KEYS[2] with its remaining TTL, unless KEYS[2] exists, and indexes it
// in KEYS[3..5] as ARGV[3..5] say (see indexLua; ARGV[2] is the id).
var migrateScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl ~= -2 and redis.call('EXISTS', KEYS[2]) == 0 then
  if ttl > 0 then redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl) else redis.call('SET', KEYS[2], ARGV[1]) end
  for i = 3, 5 do
    local sc = ARGV[i]
    if sc ~= '' then redis.call('ZADD', KEYS[i], sc, ARGV[2]) end
  end
end
redis.call('DEL', KEYS[1])
return 1`)

// escapeGlob quotes the glob characters of a SCAN pattern.
func escapeGlob(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`, "]", `\]`).Replace(s)
}

func unavailableIf(op string, err error) error {
	if err == nil {
		return nil
	}
	return unavailable(op, err)
}

// Close implements Store.
func (r *Redis) Close() error { return r.c.Close() }

var _ Store = (*Redis)(nil)
