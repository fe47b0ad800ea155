package store

import (
	"context"
	"fmt"
	"time"
)

// updater is a driver's read-modify-write of one live record: it runs fn
// on the record of id (ErrNotFound when there is none) and stores it when
// fn says write. fn may run more than once: the Redis driver runs it again
// when a concurrent write beat its compare-and-set.
type updater func(ctx context.Context, id string, fn func(r *record) (write bool, err error)) error

// finishVia is Store.Finish over a driver's update.
func finishVia(ctx context.Context, update updater, now func() time.Time, id string, status Status, res Result) (bool, error) {
	if err := checkFinal(status); err != nil {
		return false, err
	}
	recorded := false
	err := update(ctx, id, func(r *record) (bool, error) {
		recorded = false // a run of fn that lost its compare-and-set recorded nothing
		if r.Tx.Status.Final() {
			return false, nil
		}
		finish(&r.Tx, status, res, now())
		recorded = true
		return true, nil
	})
	if err != nil {
		return false, err
	}
	return recorded, nil
}

// setDeliveryVia is Store.SetDelivery over a driver's update.
func setDeliveryVia(ctx context.Context, update updater, id string, d Delivery) error {
	return update(ctx, id, func(r *record) (bool, error) {
		if !r.Tx.Status.Final() {
			return false, fmt.Errorf("%w: %s", ErrNotFinal, id)
		}
		r.Tx.Delivery = d
		return true, nil
	})
}

// rescheduleVia is Store.Reschedule over a driver's update.
func rescheduleVia(ctx context.Context, update updater, id string, next time.Time) error {
	return update(ctx, id, func(r *record) (bool, error) {
		return reschedule(&r.Tx, next), nil
	})
}
