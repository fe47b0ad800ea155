package handlerbench_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/idverify/fc-kyc/internal/handlerbench"
	"github.com/idverify/fc-kyc/pkg/credentials"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/fcrt"
	"github.com/idverify/fc-kyc/pkg/store"
)

func TestServeSendsTheBodyWithFCCredentials(t *testing.T) {
	type req struct{ N int }
	var seen []int
	var keys []string
	op := func(ctx context.Context, r req) (req, error) {
		seen = append(seen, r.N)
		c, _ := credentials.FromContext(ctx)
		keys = append(keys, c.AccessKeyID)
		return r, nil
	}
	f := fcrt.OperationFunction("bench", op)
	res := testing.Benchmark(func(b *testing.B) {
		handlerbench.Serve(b, handlerbench.Handler(f), map[string]any{"N": 7}, http.StatusOK)
	})
	assert.Positive(t, res.N)
	assert.Len(t, seen, res.N)
	assert.Equal(t, 7, seen[0])
	assert.Equal(t, emulator.DefaultAccessKeyID, keys[0], "the STS credentials FC passes")
}

func TestTripsCountsAdmitAndCreate(t *testing.T) {
	st, err := store.Open(context.Background(), "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	trips := &handlerbench.Trips{Store: st}
	_ = trips.Create(context.Background(), store.Transaction{TransactionID: "t1", MerchantBizID: "m1", Status: store.Pending})
	_, _ = trips.Admit(context.Background(), "g", nil)
	assert.EqualValues(t, 2, trips.Load())
}
