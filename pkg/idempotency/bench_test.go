package idempotency

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/idverify/fc-kyc/pkg/logging"
	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// BenchmarkDo: what an idempotent start adds to a start, per driver: a new
// order id (claim, call, store the answer) and a repeat answered from the
// store.
func BenchmarkDo(b *testing.B) {
	for name, open := range map[string]func(b *testing.B) store.Store{
		"file": func(b *testing.B) store.Store {
			st, err := store.NewFile(b.TempDir(), store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return st
		},
		"redis": func(b *testing.B) store.Store {
			st, err := store.Open(context.Background(), testproc.Redis(b).URL)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		},
	} {
		g := &Guard{Keys: [][]byte{[]byte(key)}, Window: time.Minute, Wait: time.Second}
		ctx := logging.NewContext(as("alice"), slog.New(slog.DiscardHandler))
		call := func() (answer, error) { return answer{"hk"}, nil }
		b.Run(name+"/new", func(b *testing.B) {
			g.Store = open(b)
			i := 0
			for b.Loop() {
				i++
				if _, _, err := Do(ctx, g, scope, fmt.Sprint("ORDER", i), req{"x", "y"}, call); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/repeat", func(b *testing.B) {
			g.Store = open(b)
			if _, _, err := Do(ctx, g, scope, "ORDER", req{"x", "y"}, call); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, replayed, err := Do(ctx, g, scope, "ORDER", req{"x", "y"}, call); err != nil || !replayed {
					b.Fatal(err, replayed)
				}
			}
		})
	}
}
