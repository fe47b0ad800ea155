package store

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"sync"
	"time"

	"github.com/idverify/fc-kyc/pkg/config"
)

// Open returns the driver STORE_URL names:
//
//	(empty)                                 the file store in DefaultDir (local runs only)
//	file:///abs/dir                         the file store in /abs/dir (a NAS mount in Function Compute)
//	redis://[:password@]host:port/db        Redis (ApsaraDB for Redis / Tair in the same VPC)
//	rediss://[:password@]host:port/db       the same over TLS
//	redis+cluster://[:password@]host:port?addr=host2:port2&addr=host3:port3
//	                                        a Redis Cluster (cluster edition, direct connection):
//	                                        one or more nodes as seeds, the rest is discovered
//	rediss+cluster://...                    the same over TLS
//
// Redis URLs also take prefix=<key prefix> (default "fc-kyc:", no braces),
// tls_ca_file=<PEM file> (with rediss: trust that certificate authority
// instead of the system's, as for ApsaraDB's downloadable CA certificate)
// and the go-redis connection options (dial_timeout, read_timeout,
// write_timeout, pool_timeout, max_retries, ...); timeouts left out get
// short defaults (see OpenRedis). Open reaches Redis once, within ctx, so that a wrong host or
// password stops the function at start instead of failing every request.
//
// Errors name STORE_URL and never show the password.
func Open(ctx context.Context, rawURL string) (Store, error) {
	s, reach, err := open(rawURL)
	if err != nil {
		return nil, err
	}
	if err := reach(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// open builds the store rawURL names; reach then checks, within its ctx,
// that the store answers (Redis: a dial and a PING; the file store is ready
// at once), closing it when it does not.
func open(rawURL string) (s Store, reach func(context.Context) error, err error) {
	ready := func(context.Context) error { return nil }
	if rawURL == "" {
		f, err := NewFile(DefaultDir(), Options{})
		if err != nil {
			return nil, nil, fmt.Errorf("STORE_URL is empty, so the default file store is used: %w", err)
		}
		return f, ready, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse's error repeats the URL, password included.
		return nil, nil, fmt.Errorf("STORE_URL is not a valid URL (value not shown: it may hold a password); use file:///abs/dir, redis://[:password@]host:port/db, redis+cluster://host:port?addr=host2:port2, or rediss and rediss+cluster for TLS")
	}
	switch u.Scheme {
	case "file":
		if (u.Host != "" && u.Host != "localhost") || !filepath.IsAbs(u.Path) {
			return nil, nil, fmt.Errorf("STORE_URL=%q: a file URL needs an absolute directory, with three slashes: file:///abs/dir", u.Redacted())
		}
		if u.RawQuery != "" || u.User != nil {
			return nil, nil, fmt.Errorf("STORE_URL=%q: a file URL takes no user or query, only the directory: file:///abs/dir", u.Redacted())
		}
		f, err := NewFile(filepath.Clean(u.Path), Options{})
		if err != nil {
			return nil, nil, fmt.Errorf("STORE_URL: %w", err)
		}
		return f, ready, nil
	case "redis", "rediss", "redis+cluster", "rediss+cluster":
		r, err := newRedis(rawURL, Options{})
		if err != nil {
			return nil, nil, fmt.Errorf("STORE_URL=%q: %w", u.Redacted(), err)
		}
		return r, func(ctx context.Context) error {
			if err := r.ping(ctx); err != nil {
				r.c.Close()
				return fmt.Errorf("STORE_URL=%q: %w", u.Redacted(), err)
			}
			return nil
		}, nil
	default:
		return nil, nil, fmt.Errorf("STORE_URL: scheme %q is not supported; use file:///abs/dir, redis://[:password@]host:port/db, redis+cluster://host:port?addr=host2:port2 (a cluster), or rediss and rediss+cluster for TLS", u.Scheme)
	}
}

// FromEnv opens the store STORE_URL names (or STORE_URL_FILE, since a Redis
// URL may carry a password). A malformed value is an error at once;
// reaching the store (a dial and a PING, allowed 10 s) goes on in the
// background while the function's start continues, and ready waits for its
// outcome. The function must not serve before ready returns nil
// (fcrt.Function.Ready does that), so that a wrong address still stops the
// start, and the connection it opened serves the first request.
func FromEnv() (s Store, ready func() error, err error) {
	raw, err := config.String("STORE_URL", "")
	if err != nil {
		return nil, nil, err
	}
	s, reach, err := open(raw)
	if err != nil {
		return nil, nil, err
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- reach(ctx)
	}()
	return s, sync.OnceValue(func() error { return <-done }), nil
}
