package store

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// The file store keeps each start in start/<sha256 of key>.json, read and
// written under the key's lock stripe like a transaction record. Expired
// starts are invisible at once and deleted by a sweep of start/ that
// ClaimStart runs at most once per startSweepEvery per process.
const (
	startDir        = "start"
	startSweepEvery = 10 * time.Minute
)

func (f *File) startPath(name string) string { return filepath.Join(f.dir, startDir, name+".json") }

// startName is the file name of key, apart from transaction names.
func startName(key string) string { return hashName("start|" + key) }

// ClaimStart implements Starts.
func (f *File) ClaimStart(ctx context.Context, key string, s Start, ttl time.Duration) (Start, bool, error) {
	if err := checkStart(key, s, ttl); err != nil {
		return Start{}, false, err
	}
	now := f.opt.now()
	name := startName(key)
	var held *Start // the live claim found, if any
	err := locked(ctx, f, name, f.startPath(name), func(cur *startRecord, found bool, err error) error {
		if err != nil {
			return err
		}
		if found && cur.live(now) {
			held = &cur.Start
			return nil
		}
		if s.ClaimedAt.IsZero() {
			s.ClaimedAt = now
		}
		return writeJSON(f.startPath(name), startRecord{ExpiresAt: now.Add(ttl), Start: s}, true)
	})
	switch {
	case err != nil:
		return Start{}, false, err
	case held != nil:
		return *held, false, nil
	}
	f.sweepStarts(ctx, now) // after unlocking: the sweep takes stripe locks itself
	return Start{}, true, nil
}

// AnswerStart implements Starts.
func (f *File) AnswerStart(ctx context.Context, key string, s Start) error {
	return f.updateStart(ctx, key, s, func(path string, r *startRecord) error {
		r.Start.Answer = s.Answer
		return writeJSON(path, r, true)
	})
}

// ReleaseStart implements Starts.
func (f *File) ReleaseStart(ctx context.Context, key string, s Start) error {
	return f.updateStart(ctx, key, s, func(path string, r *startRecord) error {
		if len(r.Start.Answer) > 0 {
			return nil // answered: kept for the retries
		}
		return removeIfExists(path)
	})
}

// updateStart runs fn under the lock on the live start of key, if it is
// s's claim.
func (f *File) updateStart(ctx context.Context, key string, s Start, fn func(path string, r *startRecord) error) error {
	name := startName(key)
	return locked(ctx, f, name, f.startPath(name), func(cur *startRecord, found bool, err error) error {
		if err != nil {
			return err
		}
		if !found || !cur.live(f.opt.now()) || !s.owns(cur.Start) {
			return fmt.Errorf("%w: %s", ErrNotClaimed, key)
		}
		return fn(f.startPath(name), cur)
	})
}

// sweepStarts deletes expired starts (and stale temporary files) at most
// once per startSweepEvery per process. Failures wait for the next sweep.
func (f *File) sweepStarts(ctx context.Context, now time.Time) {
	sweepExpired(ctx, f, now, &f.lastStartSweep, startSweepEvery, startDir, f.startPath,
		func(r startRecord) bool { return !r.live(now) })
}

var _ Starts = (*File)(nil)
