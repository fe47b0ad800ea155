package store

import (
	"context"
	"time"
)

// cellRecord is one limit's state in the file store, in hit/: its TAT,
// and when it stops mattering (the TAT itself), in the field the shared
// sweep of expiring files reads.
type cellRecord struct {
	TAT       time.Time `json:"tat"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// cellName is the file name of a cell of group: one file per cell, named
// to fall in its group's lock stripe (lock takes a name's first two
// characters), so that a group is decided in one lock cycle and the sweep
// of hit/, which locks a file's own stripe, excludes Admit on it.
func cellName(group, key string) string {
	return groupStripe(group)[:2] + hashName("gcra:" + group + ":" + key)[2:]
}

func groupStripe(group string) string { return hashName("gcra:" + group) }

// Admit implements Admitter: one lock cycle on the group's stripe, the
// cells' files read and (when admitted) replaced under it.
func (f *File) Admit(ctx context.Context, group string, cells []Cell) (Admission, error) {
	cells, err := checkCells(group, cells)
	if err != nil {
		return Admission{}, err
	}
	unlock, err := f.lock(ctx, groupStripe(group))
	if err != nil {
		return Admission{}, err
	}
	now := f.opt.now()
	a, err := f.admit(group, cells, now)
	unlock()
	if err == nil {
		f.sweepHits(ctx, now) // after unlocking: the sweep takes stripe locks itself
	}
	return a, err
}

func (f *File) admit(group string, cells []Cell, now time.Time) (Admission, error) {
	next := make([]time.Time, len(cells))
	var a Admission
	for i, c := range cells {
		var rec cellRecord
		if _, err := readJSON(f.hitPath(cellName(group, c.Key)), &rec); err != nil {
			return Admission{}, err
		}
		wait, n := gcra(rec.TAT, now, c)
		if wait > c.MaxWait {
			return Admission{Refused: i, Wait: wait}, nil
		}
		a.Wait = max(a.Wait, wait)
		next[i] = n
	}
	for i, c := range cells {
		if err := writeJSON(f.hitPath(cellName(group, c.Key)), cellRecord{TAT: next[i], ExpiresAt: next[i]}, false); err != nil {
			return Admission{}, err
		}
	}
	a.OK = true
	return a, nil
}

// GiveBack implements Admitter.
func (f *File) GiveBack(ctx context.Context, group string, cells []Cell) error {
	cells, err := checkCells(group, cells)
	if err != nil {
		return err
	}
	unlock, err := f.lock(ctx, groupStripe(group))
	if err != nil {
		return err
	}
	defer unlock()
	now := f.opt.now()
	for _, c := range cells {
		path := f.hitPath(cellName(group, c.Key))
		var rec cellRecord
		found, err := readJSON(path, &rec)
		if err != nil {
			return err
		}
		if !found || !rec.TAT.After(now) {
			continue
		}
		rec.TAT = rec.TAT.Add(-c.Every)
		rec.ExpiresAt = rec.TAT
		if err := writeJSON(path, rec, false); err != nil {
			return err
		}
	}
	return nil
}
