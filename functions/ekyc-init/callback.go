package main

import (
	"net/url"

	"github.com/idverify/fc-kyc/pkg/callbacktoken"
	"github.com/idverify/fc-kyc/pkg/config"
)

// callbackConfig reads EKYC_CALLBACK_URL and, when it is set, the keys that
// sign the callback tokens.
func callbackConfig() (*url.URL, *callbacktoken.Signer, error) {
	raw, err := config.String("EKYC_CALLBACK_URL", "")
	if err != nil || raw == "" {
		return nil, nil, err
	}
	base, err := config.SecureURL("EKYC_CALLBACK_URL", raw)
	if err != nil {
		return nil, nil, err
	}
	signer, err := callbacktoken.FromEnv("EKYC_CALLBACK_URL is set")
	return base, signer, err
}
