package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Cell is one limit decided by Admit, as a generic cell rate (GCRA): on
// average one event per Every, at most Burst of them at once. Its state is
// one number per key, the theoretical arrival time (TAT) of the next event;
// an event at now is allowed when TAT - (Burst-1)×Every <= now, and moves TAT
// to max(TAT, now) + Every. Unlike a counter in fixed windows it has no
// window edge where twice the limit passes: over any interval of length d,
// at most Burst - 1 + d/Every events are allowed.
type Cell struct {
	// Key names the limit inside its group (Admit's group).
	Key string
	// Every is the emission interval: the limit's period over its count.
	// Drivers keep TATs to the microsecond: Every is truncated to whole
	// microseconds, and one shorter than a microsecond counts as one (a
	// million events a second, beyond any limit here).
	Every time.Duration
	// Burst is how many events may pass at once (at least 1).
	Burst int64
	// MaxWait is how far ahead a slot may be booked: 0 decides now (the
	// abuse limits); the QPS budget books a slot up to its wait and the
	// caller sleeps until it comes, so a waiting call costs no second round
	// trip.
	MaxWait time.Duration
}

// Admission is what Admit decided.
type Admission struct {
	// OK: every cell allowed the event and each has counted it.
	OK bool
	// Wait is, when OK, how long until the booked slot comes (0: now);
	// when refused, how long until the refusing cell would allow it.
	Wait time.Duration
	// Refused is the index of the cell that refused, when not OK.
	Refused int
}

// Admitter decides limits. Both drivers implement it (store.Store embeds
// it); the Redis driver in one script and the file store in one lock
// cycle, so a call's per-caller and per-subject limits and the upstream's
// QPS budget cost one store round trip together.
type Admitter interface {
	// Admit counts one event in every cell, all or nothing: if any cell
	// refuses (its slot would come later than its MaxWait), none counts it.
	// group names the cells' common home: on a Redis Cluster all keys of a
	// group share one hash slot, so a group is decided by one script.
	// It must not contain { or }.
	Admit(ctx context.Context, group string, cells []Cell) (Admission, error)
	// GiveBack returns the slot an admitted event took in each cell (its
	// TAT moves back by Every): a call that the upstream did not bill
	// leaves the limits as they were. A cell whose slot has meanwhile
	// expired is left as it is.
	GiveBack(ctx context.Context, group string, cells []Cell) error
}

// checkCells rejects a group or cells no driver can store, and returns the
// cells with Every at the drivers' precision (see Cell.Every).
func checkCells(group string, cells []Cell) ([]Cell, error) {
	if group == "" || strings.ContainsAny(group, "{}") {
		return nil, fmt.Errorf("store: limit group %q must be non-empty, without { or }", group)
	}
	if len(cells) == 0 {
		return nil, errors.New("store: Admit needs at least one cell")
	}
	out := make([]Cell, len(cells))
	for i, c := range cells {
		if c.Key == "" || c.Every <= 0 || c.Burst < 1 || c.MaxWait < 0 {
			return nil, fmt.Errorf("store: limit cell %q needs a key, a positive Every, a Burst of at least 1 and no negative MaxWait", c.Key)
		}
		c.Every = max(c.Every.Truncate(time.Microsecond), time.Microsecond)
		out[i] = c
	}
	return out, nil
}

// gcra is one cell's decision at now given its stored TAT (zero: none):
// the wait until the event's slot and the TAT after it. Every driver
// follows it: the Redis script is the same arithmetic in microseconds.
func gcra(tat, now time.Time, c Cell) (wait time.Duration, next time.Time) {
	if tat.Before(now) {
		tat = now
	}
	// wait = TAT - (Burst-1)×Every - now, without overflowing the product
	// for a huge Burst.
	if ahead := tat.Sub(now); c.Burst-1 < int64(ahead/c.Every)+1 {
		wait = max(0, ahead-time.Duration(c.Burst-1)*c.Every)
	}
	return wait, tat.Add(c.Every)
}
