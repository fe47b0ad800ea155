package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/idverify/fc-kyc/pkg/logging"
	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/webhook"
)

// Delivery timing. A post gets postTimeout at most; a failed one waits
// retryBase, doubling per attempt up to retryCap, so a receiver that is down
// for an afternoon is not hammered and one that is back is served within
// hours. There is no last attempt: the timer keeps trying until the record
// expires with the upstream's 30-day retention.
const (
	postTimeout = 5 * time.Second
	retryBase   = time.Minute
	retryCap    = 6 * time.Hour
)

// Poster posts result events to RESULT_WEBHOOK_URL, signed with every key
// of RESULT_WEBHOOK_SECRET (see pkg/webhook).
type Poster struct {
	URL     string
	Secrets [][]byte
	Client  *http.Client
	Now     func() time.Time
}

// NewPoster returns a Poster whose client never follows a redirect: a
// signed result goes to the configured URL or nowhere.
func NewPoster(url string, secrets [][]byte) *Poster {
	return &Poster{URL: url, Secrets: secrets, Now: time.Now, Client: &http.Client{
		Timeout:       postTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Body is the event for a final transaction: always the same bytes for the
// same record, so a redelivery is identical but for its signature time.
func Body(tx store.Transaction) ([]byte, error) {
	if tx.Result == nil {
		return nil, errors.New("no result to deliver")
	}
	return json.Marshal(webhook.Event{
		ID:            tx.Result.EventID,
		Type:          kindOf(tx).eventType,
		TransactionID: tx.TransactionID,
		MerchantBizID: tx.MerchantBizID,
		UserHash:      tx.UserHash,
		Status:        string(tx.Status),
		Passed:        tx.Result.Passed,
		SubCode:       tx.Result.SubCode,
		RecordedAt:    tx.Result.RecordedAt.UTC(),
	})
}

// Post sends tx's event once; any 2xx is an acknowledgement.
func (p *Poster) Post(ctx context.Context, tx store.Transaction) error {
	body, err := Body(tx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, postTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.SignatureHeader, webhook.SignWith(p.Secrets, p.Now(), body))
	resp, err := p.Client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the url.Error would repeat the URL in every log line
		}
		return fmt.Errorf("post failed: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // lets the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("receiver answered HTTP %d", resp.StatusCode)
	}
	return nil
}

// backoff is the wait after the n-th failed attempt (n ≥ 1).
func backoff(n int) time.Duration {
	d := retryBase
	for i := 1; i < n && d < retryCap; i++ {
		d *= 2
	}
	return min(d, retryCap)
}

// deliver posts tx's result and records the outcome. A failure is only
// logged: the result is recorded, and the timer posts it again when due.
// It reports whether the receiver acknowledged.
func (s *Service) deliver(ctx context.Context, tx store.Transaction) bool {
	d := tx.Delivery
	d.Attempts++
	postCtx, cancel := ctx, context.CancelFunc(func() {})
	if end, ok := ctx.Deadline(); ok { // keep time to record the outcome
		postCtx, cancel = context.WithDeadline(ctx, end.Add(-answerReserve))
	}
	err := s.Webhook.Post(postCtx, tx)
	cancel()
	if err == nil {
		d.Delivered, d.LastError, d.NextAttempt = true, "", time.Time{}
	} else {
		d.LastError = err.Error()
		d.NextAttempt = s.Now().Add(backoff(d.Attempts)).UTC()
	}
	log := logging.From(ctx).With("transaction_id", tx.TransactionID, "event_id", tx.Result.EventID, "attempt", d.Attempts)
	if serr := s.Store.SetDelivery(ctx, tx.TransactionID, d); serr != nil {
		// A delivered event may then be posted again: receivers dedupe on its id.
		log.Error("store failed", "op", "SetDelivery", "error", serr.Error())
	}
	if err != nil {
		log.Warn("result not delivered", "error", err.Error(), "next_attempt", d.NextAttempt)
		return false
	}
	log.Info("result delivered")
	return true
}
