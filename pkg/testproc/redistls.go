package testproc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RedisTLSServer is a real redis-server that speaks TLS only, with a
// certificate for 127.0.0.1 from a certificate authority the test made.
type RedisTLSServer struct {
	// URL is rediss://127.0.0.1:port/0?tls_ca_file=<CAFile>, for
	// STORE_URL or store.OpenRedis.
	URL string
	// CAFile is the PEM certificate of the authority that signed the
	// server's certificate.
	CAFile string
}

// RedisTLS starts redis-server with only a TLS port (tls-auth-clients no:
// clients need no certificate) and waits until it answers PING over TLS;
// it is stopped when the test ends. The test is skipped when redis-server
// is not installed or was built without TLS.
func RedisTLS(t testing.TB) *RedisTLSServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not on PATH: install it (Debian: apt-get install redis-server) to run the Redis TLS tests")
	}
	dir := t.TempDir()
	caFile, certFile, keyFile, roots := makeCerts(t, dir)
	var addr string
	for attempt := 1; ; attempt++ { // a port taken before the bind: another one (as Redis)
		addr = "127.0.0.1:" + FreePort(t)
		out, err := startTLSNode(t, bin, dir, addr, caFile, certFile, keyFile, roots)
		if err == nil {
			break
		}
		if strings.Contains(out, "tls") && strings.Contains(strings.ToLower(out), "bad directive") {
			t.Skipf("this redis-server was built without TLS (%s): install one with TLS (Debian's is) to run the Redis TLS tests", strings.TrimSpace(out))
		}
		if !portTaken(err) || attempt == 5 {
			t.Fatal(err)
		}
	}
	return &RedisTLSServer{URL: "rediss://" + addr + "/0?tls_ca_file=" + url.QueryEscape(caFile), CAFile: caFile}
}

// startTLSNode runs redis-server with TLS only on addr until t ends, and
// waits until it answers PING over TLS; it returns what the server printed.
func startTLSNode(t testing.TB, bin, dir, addr, caFile, certFile, keyFile string, roots *x509.CertPool) (string, error) {
	_, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command(bin,
		"--bind", "127.0.0.1", "--port", "0", "--tls-port", port, "--dir", dir,
		"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", caFile,
		"--tls-auth-clients", "no",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
	)
	out := &Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("testproc: start redis-server: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	if err := waitFor(func() error { return pingVia(addr, roots) }, done); err != nil {
		return out.String(), fmt.Errorf("testproc: redis-server over TLS on %s: %w\n%s", addr, err, out.String())
	}
	return out.String(), nil
}

// makeCerts writes a certificate authority and a server certificate for
// 127.0.0.1 and localhost (ECDSA P-256, valid for a day) into dir.
func makeCerts(t testing.TB, dir string) (caFile, certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	// issue makes a key and a certificate for it from tmpl, valid from an
	// hour ago for a day, signed with parentKey (self-signed when parent
	// is nil).
	issue := func(tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		check(err)
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(24*time.Hour)
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		check(err)
		cert, err := x509.ParseCertificate(der)
		check(err)
		return cert, key
	}
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		check(os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
		return path
	}
	ca, caKey := issue(&x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test redis CA"},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}, nil, nil)
	srv, srvKey := issue(&x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, caKey)
	keyDER, err := x509.MarshalPKCS8PrivateKey(srvKey)
	check(err)
	roots = x509.NewCertPool()
	roots.AddCert(ca)
	return write("ca.pem", "CERTIFICATE", ca.Raw), write("server.pem", "CERTIFICATE", srv.Raw),
		write("server.key", "PRIVATE KEY", keyDER), roots
}
