package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// File is the embedded driver: one directory, no server, pure Go. It is the
// default (local runs, tests, a single instance) and also serves several
// processes sharing the directory, as ekyc-init and callback do under the
// local stack, or Function Compute instances sharing a NAS mount.
//
// Layout under the directory:
//
//	tx/<h>.json                 one record per transaction; h = sha256 of its TransactionID
//	due/new/<hour>/<t>-<h>      empty marker: pending, never checked; t = CreatedAt
//	due/retry/<hour>/<t>-<h>    empty marker: pending, checked before; t = NextCheck
//	undelivered/<h>             empty marker: its result is recorded, not yet delivered
//	hit/<sha256>.json           one limit cell (see Admit): its TAT
//	start/<sha256>.json         the claim of an idempotent start (see ClaimStart)
//	ref/<r>.json                the Lookup index: an owner's order id to its TransactionID;
//	                            r = sha256 of kind, owner and order id
//	locks/<00..ff>              256 lock files, striped by the hash
//
// In the due index, t is the time in microseconds since the epoch and hour
// that time's hour (since the epoch), both zero-padded so that names sort
// as times do: Due lists the hour directories, then only the ones it
// needs, and reads no record it does not return.
//
// Why it is safe across processes: every file is replaced whole, by writing
// a temporary file in the same directory and renaming it over the old one,
// so a reader sees the old record or the new one, never half of one, and
// reads take no lock. Every read-modify-write (Create, Finish, SetDelivery,
// Admit, the starts, sweeping) runs while holding an exclusive flock(2) on the record's
// lock stripe, so two processes racing Finish on one transaction serialise
// and exactly one of them sees it pending. Locks are on separate files
// because a rename replaces the record's inode, which would silently drop a
// lock held on the record itself. The kernel releases a flock when its
// holder dies, so a crashed process never wedges the others.
//
// On NAS the locks need NFSv4.0 (General-purpose NAS): Alibaba Cloud's NAS
// documentation says NFSv3 does not implement file locks, so over a v3
// mount the instances would not exclude each other; use Redis there. Reads
// without a lock (Get, the scans) may lag another instance's write by the
// NFS attribute cache; every read-modify-write re-reads under the lock.
//
// A recorded result is fsynced before the rename, so a crash loses at most
// a rename; the transaction then reads as pending again and the reconciler
// records it a second time from CheckResult: nothing is lost. Limit cells
// are not fsynced: losing one only frees its slots early.
//
// Due reads the names of the due index (hour directories, then the
// markers of the hours it needs, newest or earliest first) and only the
// records it returns, at most its limit. Undelivered lists its marker
// directory and reads those records, then sorts: linear in the number of
// undelivered results, which deliveries keep small. The record stays the
// truth and the markers a hint: a marker is added before the record is
// written and dropped after, so a crash in between leaves an extra marker,
// which the next scan that meets it drops, never a missing one.
//
// Expired records are invisible at once. They are deleted by the scans that
// meet them and by a sweep of all records that Undelivered runs at most once
// an hour per process; stale limit cells are deleted by Admit, and expired
// starts by ClaimStart, at most once a minute and once every ten minutes
// per process.
type File struct {
	dir            string
	opt            Options
	lastTxSweep    atomic.Int64 // unix nanos (driver clock) of the last sweep of tx/
	lastHitSweep   atomic.Int64 // same, of hit/
	lastStartSweep atomic.Int64 // same, of start/
}

// DefaultDir is where Open keeps the file store when STORE_URL is empty:
// fc-kyc-store under the system's temporary directory ($TMPDIR, else /tmp).
// Under Function Compute /tmp belongs to one instance and vanishes with it,
// so the default is right for local runs only; deployments set STORE_URL to
// a NAS directory (file:///mnt/...) or to Redis.
func DefaultDir() string { return filepath.Join(os.TempDir(), "fc-kyc-store") }

const (
	txDir          = "tx"
	dueNewDir      = "due/new"
	dueRetryDir    = "due/retry"
	undeliveredDir = "undelivered"
	hitDir         = "hit"
	refDir         = "ref"
	lockDir        = "locks"
	tmpPrefix      = ".tmp-"
	tmpMaxAge      = time.Hour   // a temporary file older than this was left by a crash
	txSweepEvery   = time.Hour   // tx/ is swept at most this often per process
	hitSweepEvery  = time.Minute // hit/ likewise
)

// NewFile opens (creating it if needed) the file store in dir, an absolute
// path.
func NewFile(dir string, o Options) (*File, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("store: the file store needs an absolute directory, not %q", dir)
	}
	for _, sub := range []string{txDir, dueNewDir, dueRetryDir, undeliveredDir, hitDir, refDir, startDir, lockDir} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("store: cannot create the file store in %s: %w", dir, err)
		}
	}
	f := &File{dir: dir, opt: o}
	// Fail now, not at the first request, if locking does not work here.
	unlock, err := f.lock(context.Background(), hashName(""))
	if err != nil {
		return nil, err
	}
	unlock()
	if err := f.migrate(); err != nil {
		return nil, err
	}
	return f, nil
}

// oldPendingDir held the pending markers of the first layout: one empty
// file per pending transaction, no order.
const oldPendingDir = "pending"

// migrate moves the markers of the first layout's pending directory into
// the due index, then removes the directory: a store written by an earlier
// version keeps every pending transaction. Several processes may run it at
// once; each marker is handled under its record's lock.
func (f *File) migrate() error {
	old := filepath.Join(f.dir, oldPendingDir)
	entries, err := os.ReadDir(old)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return unavailable("list", err)
	}
	ctx := context.Background()
	for _, e := range entries {
		if err := f.migrateMarker(ctx, e.Name()); err != nil {
			return err
		}
	}
	if err := os.Remove(old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return unavailable("remove", err)
	}
	return nil
}

func (f *File) migrateMarker(ctx context.Context, name string) error {
	if len(name) != len(hashName("")) { // not a marker: nothing to move
		return removeIfExists(filepath.Join(f.dir, oldPendingDir, name))
	}
	return locked(ctx, f, name, f.txPath(name), func(r *record, found bool, err error) error {
		if errors.Is(err, ErrUnavailable) {
			return err
		}
		// A corrupt record is left for the read that needs it to report.
		if rel := dueMarker(r.Tx, name); err == nil && found && rel != "" {
			if err := touch(filepath.Join(f.dir, rel)); err != nil {
				return err
			}
		}
		return removeIfExists(filepath.Join(f.dir, oldPendingDir, name))
	})
}

// Dir is the store's directory.
func (f *File) Dir() string { return f.dir }

func (f *File) txPath(name string) string  { return filepath.Join(f.dir, txDir, name+".json") }
func (f *File) hitPath(name string) string { return filepath.Join(f.dir, hitDir, name+".json") }
func (f *File) refPath(name string) string { return filepath.Join(f.dir, refDir, name+".json") }

// lock takes the exclusive lock of the stripe of name (a hashName). It polls
// a non-blocking flock so that waiting ends with ctx.
func (f *File) lock(ctx context.Context, name string) (unlock func(), err error) {
	path := filepath.Join(f.dir, lockDir, name[:2])
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, unavailable("open lock file", err)
	}
	wait := 50 * time.Microsecond
	for {
		ok, err := tryLock(fh)
		if err != nil {
			fh.Close()
			return nil, unavailable("lock "+path, err)
		}
		if ok {
			return func() { fh.Close() }, nil // closing releases the flock
		}
		select {
		case <-ctx.Done():
			fh.Close()
			return nil, unavailable("waiting for lock "+path, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Millisecond)
	}
}

// locked runs fn under the lock of name (a hashName) with the file at path
// read into a fresh T: found is false when there is no such file, err is a
// failed or corrupt read, for fn to return or, knowingly, not.
func locked[T any](ctx context.Context, f *File, name, path string, fn func(r *T, found bool, err error) error) error {
	unlock, err := f.lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	var r T
	found, err := readJSON(path, &r)
	return fn(&r, found, err)
}

// readJSON reads path into v; found is false when the file does not exist.
func readJSON(path string, v any) (found bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, unavailable("read", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("store: %s is corrupt (remove it to drop the record): %w", path, err)
	}
	return true, nil
}

// writeJSON replaces path with v atomically: temporary file, optional fsync,
// rename.
func writeJSON(path string, v any, durable bool) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), tmpPrefix+"*")
	if err != nil {
		return unavailable("write", err)
	}
	_, err = tmp.Write(b)
	if err == nil && durable {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return unavailable("write", err)
	}
	return nil
}

func (f *File) readTx(name string) (record, bool, error) {
	var r record
	found, err := readJSON(f.txPath(name), &r)
	if err != nil || !found || !r.live(f.opt.now()) {
		return record{}, false, err
	}
	return r, true, nil
}

// update runs fn on the live record of id under its lock and writes the
// record back when fn returns write == true.
func (f *File) update(ctx context.Context, id string, fn func(r *record) (write bool, err error)) error {
	name := hashName(id)
	unlock, err := f.lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	r, found, err := f.readTx(name)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	old := r
	write, err := fn(&r)
	if err != nil || !write {
		return err
	}
	return f.write(name, &old, r)
}

// bucketMicros is the span of one hour directory of the due index.
const bucketMicros = int64(time.Hour / time.Microsecond)

// dueMarker is the path, relative to the store's directory, of t's marker
// in the due index; "" when t is not pending.
func dueMarker(t Transaction, name string) string {
	var dir string
	var at int64
	switch {
	case t.Status == Pending && t.Checks == 0:
		dir, at = dueNewDir, score(t.CreatedAt)
	case t.Status == Pending:
		dir, at = dueRetryDir, score(t.NextCheck)
	default:
		return ""
	}
	return filepath.Join(dir, fmt.Sprintf("%012d", at/bucketMicros), fmt.Sprintf("%020d-%s", at, name))
}

// write stores the record of name (whose previous version is old, nil if
// none) with its markers, under the caller's lock: markers it needs are
// added before the record is written and the others removed after, so a
// crash leaves an extra marker, never a missing one.
func (f *File) write(name string, old *record, r record) error {
	undelivered := r.Tx.undelivered()
	if undelivered {
		if err := touch(filepath.Join(f.dir, undeliveredDir, name)); err != nil {
			return err
		}
	}
	due := dueMarker(r.Tx, name)
	if due != "" {
		if err := touch(filepath.Join(f.dir, due)); err != nil {
			return err
		}
	}
	if err := writeJSON(f.txPath(name), r, true); err != nil {
		return err
	}
	if !undelivered {
		if err := removeIfExists(filepath.Join(f.dir, undeliveredDir, name)); err != nil {
			return err
		}
	}
	if old != nil {
		if was := dueMarker(old.Tx, name); was != "" && was != due {
			if err := removeIfExists(filepath.Join(f.dir, was)); err != nil {
				return err
			}
		}
	}
	return nil
}

// touch creates the empty marker path, and its directory if needed (a
// due index's new hour): only then, so that a marker in a directory that
// exists costs one call, not a stat more (a round trip on NAS).
func touch(path string) error {
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return unavailable("write marker", err)
		}
		fh, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	}
	if err != nil {
		return unavailable("write marker", err)
	}
	return fh.Close()
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return unavailable("remove", err)
	}
	return nil
}

// Create implements Store.
func (f *File) Create(ctx context.Context, t Transaction) error {
	r, err := newRecord(t, f.opt)
	if err != nil {
		return err
	}
	name := hashName(t.TransactionID)
	unlock, err := f.lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	if _, found, err := f.readTx(name); err != nil {
		return err
	} else if found {
		return fmt.Errorf("%w: %s", ErrExists, t.TransactionID)
	}
	if err := f.write(name, nil, r); err != nil {
		return err
	}
	if t.Owner == "" {
		return nil
	}
	// The newest transaction of an order id wins its entry; entries of one
	// id race only between two starts of one owner, and Lookup checks the
	// record it reads.
	return writeJSON(f.refPath(refName(t.Kind, t.MerchantBizID, t.Owner)), ref{TransactionID: t.TransactionID, ExpiresAt: r.ExpiresAt}, true)
}

// Lookup implements Store.
func (f *File) Lookup(ctx context.Context, kind, merchantBizID, owner string) (Transaction, error) {
	if owner == "" {
		return Transaction{}, fmt.Errorf("%w: %s", ErrNotFound, merchantBizID)
	}
	var e ref
	found, err := readJSON(f.refPath(refName(kind, merchantBizID, owner)), &e)
	if err != nil {
		return Transaction{}, err
	}
	if !found || !f.opt.now().Before(e.ExpiresAt) {
		return Transaction{}, fmt.Errorf("%w: %s", ErrNotFound, merchantBizID)
	}
	t, err := f.Get(ctx, e.TransactionID)
	if err != nil || !owns(t, kind, merchantBizID, owner) {
		return Transaction{}, fmt.Errorf("%w: %s", ErrNotFound, merchantBizID)
	}
	return t, nil
}

// Get implements Store.
func (f *File) Get(ctx context.Context, id string) (Transaction, error) {
	r, found, err := f.readTx(hashName(id))
	if err != nil {
		return Transaction{}, err
	}
	if !found {
		return Transaction{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return r.Tx, nil
}

// Finish implements Store.
func (f *File) Finish(ctx context.Context, id string, status Status, res Result) (bool, error) {
	return finishVia(ctx, f.update, f.opt.now, id, status, res)
}

// SetDelivery implements Store.
func (f *File) SetDelivery(ctx context.Context, id string, d Delivery) error {
	return setDeliveryVia(ctx, f.update, id, d)
}

// Reschedule implements Store.
func (f *File) Reschedule(ctx context.Context, id string, next time.Time) error {
	return rescheduleVia(ctx, f.update, id, next)
}

// Due implements Store.
func (f *File) Due(ctx context.Context, firstBefore, now time.Time, limit int) ([]Transaction, error) {
	if limit <= 0 {
		return nil, nil
	}
	out, err := f.dueScan(ctx, dueNewDir, score(firstBefore), true, limit)
	if err != nil {
		return nil, err
	}
	if len(out) == limit {
		return out, nil
	}
	more, err := f.dueScan(ctx, dueRetryDir, score(now), false, limit-len(out))
	return append(out, more...), err
}

// dueScan returns up to limit live pending transactions whose marker in
// dir has a time at most max, newest first (desc) or earliest first. It
// reads names until it has limit markers, then only their records; a
// marker its record disowns (gone, expired, moved on) is dropped.
func (f *File) dueScan(ctx context.Context, dir string, max int64, desc bool, limit int) ([]Transaction, error) {
	sorted := func(path string) ([]string, error) {
		entries, err := os.ReadDir(path) // sorted by name
		if err != nil {
			return nil, unavailable("list", err)
		}
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if desc {
			slices.Reverse(names)
		}
		return names, nil
	}
	buckets, err := sorted(filepath.Join(f.dir, dir))
	if err != nil {
		return nil, err
	}
	maxBucket := fmt.Sprintf("%012d", max/bucketMicros)
	maxName := fmt.Sprintf("%020d-", max+1) // every marker of time max sorts before it
	var picked []string                     // paths relative to the store's directory
	for _, b := range buckets {
		if len(picked) == limit {
			break
		}
		if b > maxBucket {
			if desc {
				continue
			}
			break
		}
		names, err := sorted(filepath.Join(f.dir, dir, b))
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if len(picked) == limit {
				break
			}
			if n >= maxName {
				if desc {
					continue
				}
				break
			}
			picked = append(picked, filepath.Join(dir, b, n))
		}
	}
	now := f.opt.now()
	var out []Transaction
	for _, rel := range picked {
		if err := ctx.Err(); err != nil {
			return nil, unavailable("scan", err)
		}
		_, name, _ := strings.Cut(filepath.Base(rel), "-")
		var r record
		found, err := readJSON(f.txPath(name), &r)
		if err != nil {
			return nil, err
		}
		if found && r.live(now) && dueMarker(r.Tx, name) == rel {
			out = append(out, r.Tx)
			continue
		}
		if err := f.dropDueMarker(ctx, rel, name, now); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// dropDueMarker removes the due marker rel of name unless, read again
// under the lock, its record still owns it: a Finish or Reschedule may have
// run since the scan read it.
func (f *File) dropDueMarker(ctx context.Context, rel, name string, now time.Time) error {
	return f.dropStaleMarker(ctx, rel, name, now, func(tx Transaction) bool { return dueMarker(tx, name) == rel })
}

// Undelivered implements Store.
func (f *File) Undelivered(ctx context.Context, due time.Time, limit int) ([]Transaction, error) {
	now := f.opt.now()
	if err := f.sweepTx(ctx, now); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(f.dir, undeliveredDir))
	if err != nil {
		return nil, unavailable("list", err)
	}
	var out []Transaction
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, unavailable("scan", err)
		}
		name := e.Name()
		var r record
		found, err := readJSON(f.txPath(name), &r)
		if err != nil {
			return nil, err
		}
		if !found || !r.live(now) || !r.Tx.undelivered() {
			if err := f.dropUndeliveredMarker(ctx, name, now); err != nil {
				return nil, err
			}
			continue
		}
		if score(r.Tx.Delivery.NextAttempt) <= score(due) {
			out = append(out, r.Tx)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return less(out[i].Delivery.NextAttempt, out[i].TransactionID, out[j].Delivery.NextAttempt, out[j].TransactionID)
	})
	return head(out, limit), nil
}

// less orders by time at the precision of a Redis score (microseconds), then
// by id, so that both drivers list in the same order.
func less(ta time.Time, ida string, tb time.Time, idb string) bool {
	a, b := score(ta), score(tb)
	if a != b {
		return a < b
	}
	return ida < idb
}

func head[T any](ts []T, limit int) []T {
	if limit <= 0 {
		return nil
	}
	if len(ts) > limit {
		return ts[:limit]
	}
	return ts
}

// dropUndeliveredMarker removes the undelivered marker of name unless,
// read again under the lock, its record is still undelivered: a Finish may
// have run since the scan read it.
func (f *File) dropUndeliveredMarker(ctx context.Context, name string, now time.Time) error {
	return f.dropStaleMarker(ctx, filepath.Join(undeliveredDir, name), name, now, Transaction.undelivered)
}

// dropStaleMarker removes the marker at rel (in the store's directory) of
// record name if, read under the record's lock, the record is gone,
// expired (then the record goes too), or owns says it no longer owns the
// marker.
func (f *File) dropStaleMarker(ctx context.Context, rel, name string, now time.Time, owns func(Transaction) bool) error {
	return locked(ctx, f, name, f.txPath(name), func(r *record, found bool, err error) error {
		if err != nil {
			return err
		}
		if found && r.live(now) && owns(r.Tx) {
			return nil
		}
		if found && !r.live(now) {
			if err := removeIfExists(f.txPath(name)); err != nil {
				return err
			}
		}
		return removeIfExists(filepath.Join(f.dir, rel))
	})
}

// sweepTx deletes expired records and their markers, and temporary files a
// crash left behind, at most once per txSweepEvery per process: it reads
// every record.
func (f *File) sweepTx(ctx context.Context, now time.Time) error {
	if !due(&f.lastTxSweep, now, txSweepEvery) {
		return nil
	}
	dir := filepath.Join(f.dir, txDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return unavailable("list", err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, tmpPrefix) {
			removeStaleTmp(filepath.Join(dir, name))
			continue
		}
		var r record
		if found, err := readJSON(filepath.Join(dir, name), &r); err != nil || !found || r.live(now) {
			continue // a corrupt record is reported by the read that needs it
		}
		name = strings.TrimSuffix(name, ".json")
		if err := f.dropUndeliveredMarker(ctx, name, now); err != nil {
			return err
		}
		if rel := dueMarker(r.Tx, name); rel != "" {
			if err := f.dropDueMarker(ctx, rel, name, now); err != nil {
				return err
			}
		}
		if r.Tx.Owner != "" { // its Lookup entry, if that has expired too
			if err := f.sweep(ctx, refName(r.Tx.Kind, r.Tx.MerchantBizID, r.Tx.Owner), f.refPath, now); err != nil {
				return err
			}
		}
		if err := f.sweep(ctx, name, f.txPath, now); err != nil {
			return err
		}
	}
	return nil
}

// due reports whether a periodic sweep should run now, and claims it.
func due(last *atomic.Int64, now time.Time, every time.Duration) bool {
	l := last.Load()
	return now.UnixNano()-l >= int64(every) && last.CompareAndSwap(l, now.UnixNano())
}

// sweep deletes the file of name if, read again under its lock, it is still
// expired: another process may have replaced it since the scan read it.
func (f *File) sweep(ctx context.Context, name string, path func(string) string, now time.Time) error {
	type expiring struct {
		ExpiresAt time.Time `json:"expiresAt"`
	}
	return locked(ctx, f, name, path(name), func(r *expiring, found bool, err error) error {
		if err != nil || !found || now.Before(r.ExpiresAt) {
			return err
		}
		return removeIfExists(path(name))
	})
}

func removeStaleTmp(path string) {
	if info, err := os.Stat(path); err == nil && time.Since(info.ModTime()) > tmpMaxAge {
		os.Remove(path)
	}
}

// sweepHits deletes limit cells whose TAT has passed (they read as
// unused), at most once per hitSweepEvery per process. Failures are left
// for the next sweep: a stale cell is harmless.
func (f *File) sweepHits(ctx context.Context, now time.Time) {
	sweepExpired(ctx, f, now, &f.lastHitSweep, hitSweepEvery, hitDir, f.hitPath,
		func(c cellRecord) bool { return !now.Before(c.ExpiresAt) })
}

// sweepExpired deletes the records of type T in the store's directory sub
// that expired says have expired, with stale temporary files, at most once
// per every per process (last holds the time of the previous sweep).
// Failures are left for the next sweep: an expired record is invisible
// already.
func sweepExpired[T any](ctx context.Context, f *File, now time.Time, last *atomic.Int64, every time.Duration,
	sub string, path func(string) string, expired func(T) bool) {
	if !due(last, now, every) {
		return
	}
	dir := filepath.Join(f.dir, sub)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, tmpPrefix):
			removeStaleTmp(filepath.Join(dir, name))
		case strings.HasSuffix(name, ".json"):
			var r T
			if found, err := readJSON(filepath.Join(dir, name), &r); err == nil && found && expired(r) {
				_ = f.sweep(ctx, strings.TrimSuffix(name, ".json"), path, now)
			}
		}
	}
}

// Close implements Store; the file store holds nothing open between calls.
func (f *File) Close() error { return nil }

var _ Store = (*File)(nil)
