package main

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/idverify/fc-kyc/pkg/callbacktoken"
	"github.com/idverify/fc-kyc/pkg/store"
)

func benchZhimaService(b *testing.B) *Service {
	s := benchService(b)
	s.Zhima = &Zhima{Upstream: &fakeQuerier{passed: map[string]string{bizNo: "true"}}, ReturnPath: "/zhima/return"}
	return s
}

func zhimaReturnTarget(tokens *callbacktoken.Signer) string {
	return "/zhima/return?" + url.Values{"bizNo": {bizNo}, "transactionId": {zhimaTxID},
		"callbackToken": {tokens.Token(callbacktoken.ZhimaReturn, callbacktoken.ZhimaSubject(bizNo, zhimaTxID), time.Now())}}.Encode()
}

// BenchmarkZhimaReturnDuplicate: a browser reloading the return page
// (token check and one store read, no query).
func BenchmarkZhimaReturnDuplicate(b *testing.B) {
	s := benchZhimaService(b)
	ctx := context.Background()
	if err := s.Store.Create(ctx, store.Transaction{TransactionID: bizNo, MerchantBizID: zhimaTxID, Kind: store.KindZhima}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Store.Finish(ctx, bizNo, store.Passed, store.Result{EventID: eventID(bizNo), Passed: "true"}); err != nil {
		b.Fatal(err)
	}
	benchGet(b, s, zhimaReturnTarget(s.Tokens), http.StatusOK)
}

// BenchmarkZhimaReturnForged: what a forged return costs us (403 before any
// store read or query).
func BenchmarkZhimaReturnForged(b *testing.B) {
	s := benchZhimaService(b)
	other, _ := callbacktoken.New([]string{"another-key-of-at-least-32-characters!"}, time.Hour)
	benchGet(b, s, zhimaReturnTarget(other), http.StatusForbidden)
}
