package storetest

import (
	"context"

	"github.com/idverify/fc-kyc/pkg/store"
)

// ContextBound is st refusing a Create whose context has ended, as Redis's
// client does (the file store writes regardless): the functions' tests wrap
// a file store in it to show that a record which must survive the caller's
// hang-up is written under a context of its own.
type ContextBound struct{ store.Store }

// Create fails with the context's error once ctx has ended.
func (s ContextBound) Create(ctx context.Context, t store.Transaction) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.Store.Create(ctx, t)
}
