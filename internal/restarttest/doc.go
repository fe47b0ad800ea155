// Package restarttest holds the restart test: a function
// killed (SIGKILL, as an instance is reclaimed) in the middle of a request
// and started again loses nothing it had acknowledged: pending transactions
// (ekyc-init), recorded callback results and undelivered webhooks
// (callback). It runs once with the file store and once with a real
// redis-server.
package restarttest
