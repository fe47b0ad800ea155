package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/idverify/fc-kyc/pkg/fcrt"
	"github.com/idverify/fc-kyc/pkg/store"
)

// recordingReader finds nothing and keeps what it was asked.
type recordingReader struct{ asked []string }

func (r *recordingReader) Get(_ context.Context, id string) (store.Transaction, error) {
	r.asked = append(r.asked, "biz_no:"+id)
	return store.Transaction{}, store.ErrNotFound
}

func (r *recordingReader) Lookup(_ context.Context, kind, id, _ string) (store.Transaction, error) {
	r.asked = append(r.asked, kind+":"+id)
	return store.Transaction{}, store.ErrNotFound
}

var (
	ekycID  = regexp.MustCompile(`^ekyc:[A-Za-z0-9]{1,32}$`)
	zhimaID = regexp.MustCompile(`^(zhima|biz_no):[A-Za-z0-9_-]{1,64}$`)
)

// FuzzRequestCheck: any body sent to result's API. Either it passes every
// rule (checked here again, written another way: one id of its kind's
// characters) and reaches the store with that id, answered 404 since the
// store knows nothing; or it is refused with a 4xx before any store read.
// Never a 5xx, and a 404 is always the same body.
func FuzzRequestCheck(f *testing.F) {
	for _, s := range []string{
		`{"MerchantBizId":"order1"}`, `{"transaction_id":"ZM_1-a","wait":20}`, `{"biz_no":"abc"}`,
		`{"MerchantBizId":"a","biz_no":"b"}`, `{"MerchantBizId":"a-b"}`, `{"wait":-1,"MerchantBizId":"a"}`,
		`{"MerchantBizId":"a","wait":1.5}`, `{"merchantBizId":"a"}`, `{}`, `[]`, `{"biz_no":"../x"}`,
	} {
		f.Add([]byte(s))
	}
	var notFound string
	f.Fuzz(func(t *testing.T, body []byte) {
		st := &recordingReader{}
		h := &Handler{Store: st, Owners: fixtureGuard()}
		api, _ := fcrt.Operation(h.Result, fcrt.WithMaxBody(maxBody))
		w := httptest.NewRecorder()
		api.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))
		switch {
		case w.Code == http.StatusNotFound:
			if len(st.asked) != 1 || !(ekycID.MatchString(st.asked[0]) || zhimaID.MatchString(st.asked[0])) {
				t.Fatalf("404 after store reads %q", st.asked)
			}
			if notFound == "" {
				notFound = w.Body.String()
			}
			if w.Body.String() != notFound {
				t.Fatalf("two 404 bodies: %s and %s", notFound, w.Body.String())
			}
		case w.Code >= 400 && w.Code < 500:
			if len(st.asked) != 0 {
				t.Fatalf("%d after store reads %q", w.Code, st.asked)
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
	})
}
