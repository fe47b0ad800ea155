package main

import (
	"fmt"

	"github.com/idverify/fc-kyc/pkg/callbacktoken"
	"github.com/idverify/fc-kyc/pkg/config"
)

// minWebhookSecret is the shortest RESULT_WEBHOOK_SECRET key accepted, as
// for CALLBACK_SECRET: 32 characters of a random key.
const minWebhookSecret = 32

// configure reads everything but the upstream and the store:
// CALLBACK_SECRET (required: a callback without a token check is an open
// door), RESULT_WEBHOOK_URL and RESULT_WEBHOOK_SECRET, RECONCILE_AFTER,
// RECONCILE_MAX_AGE and RECONCILE_BATCH.
func (s *Service) configure() error {
	// The lifetime only matters to signers; the expiry travels in the token.
	var err error
	if s.Tokens, err = callbacktoken.FromEnv("the callback function runs (it checks every notification's token)"); err != nil {
		return err
	}
	if s.ReconcileAfter, err = config.Duration("RECONCILE_AFTER", defaultReconcileAfter); err != nil {
		return err
	}
	if s.MaxAge, err = config.Duration("RECONCILE_MAX_AGE", defaultMaxAge); err != nil {
		return err
	}
	if s.MaxAge <= s.ReconcileAfter {
		return fmt.Errorf("RECONCILE_MAX_AGE (%s) must be longer than RECONCILE_AFTER (%s)", s.MaxAge, s.ReconcileAfter)
	}
	if s.Batch, err = config.Int("RECONCILE_BATCH", defaultBatch); err != nil {
		return err
	}
	return s.configureWebhook()
}

// configureWebhook reads RESULT_WEBHOOK_URL (https, or http to loopback)
// and its keys; the first key is the current one, the others are kept
// while receivers rotate (every key signs, see pkg/webhook).
func (s *Service) configureWebhook() error {
	raw, err := config.String("RESULT_WEBHOOK_URL", "")
	if err != nil || raw == "" {
		return err
	}
	u, err := config.SecureURL("RESULT_WEBHOOK_URL", raw)
	if err != nil {
		return err
	}
	keys, err := config.List("RESULT_WEBHOOK_SECRET")
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return fmt.Errorf("RESULT_WEBHOOK_SECRET is required when RESULT_WEBHOOK_URL is set: give one or more comma-separated keys of at least %d characters", minWebhookSecret)
	}
	var secrets [][]byte
	for i, k := range keys {
		if len(k) < minWebhookSecret {
			return fmt.Errorf("RESULT_WEBHOOK_SECRET: key %d of %d is %d characters; each key needs at least %d", i+1, len(keys), len(k), minWebhookSecret)
		}
		secrets = append(secrets, []byte(k))
	}
	s.Webhook = NewPoster(u.String(), secrets)
	return nil
}
