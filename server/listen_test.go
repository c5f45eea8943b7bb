package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// serveForTest runs ListenAndServe on a loopback port and returns its address
// and a function that stops it and returns its error.
func serveForTest(t *testing.T, h http.Handler, o ListenOptions) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	o.Addr = "127.0.0.1:0"
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	o.Ready = func(a net.Addr) { addrc <- a }
	go func() { errc <- ListenAndServe(ctx, h, o) }()
	select {
	case a := <-addrc:
		return a.String(), func() error { cancel(); return <-errc }
	case err := <-errc:
		cancel()
		t.Fatalf("ListenAndServe: %v", err)
	}
	return "", nil
}

func TestSlowlorisClientIsCutOffByTheHeaderTimeout(t *testing.T) {
	tm := DefaultTimeouts()
	tm.ReadHeader = 100 * time.Millisecond
	addr, stop := serveForTest(t, http.NotFoundHandler(), ListenOptions{Timeouts: tm})
	defer stop()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Send a partial header and then nothing, as a slowloris client does.
	if _, err := conn.Write([]byte("POST /v1/admission HTTP/1.1\r\nHost: x\r\nX-Slow: ")); err != nil {
		t.Fatal(err)
	}
	// A safety net far beyond the header timeout: the test fails (rather
	// than hangs) when the server never closes the connection.
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	rest, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept a connection with an incomplete header open")
	}
	if len(rest) > 0 && !bytes.Contains(rest, []byte("408")) && !bytes.Contains(rest, []byte("400")) {
		t.Fatalf("unexpected answer to an incomplete header: %q", rest)
	}
}

func TestGracefulShutdownFinishesRequestsInFlight(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "done")
	})
	addr, stop := serveForTest(t, h, ListenOptions{})
	res := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			res <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- string(b)
	}()
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	close(release)
	if got := <-res; got != "done" {
		t.Fatalf("request in flight during shutdown got %q", got)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Fatal("still listening after shutdown")
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 with the given
// common name and returns nothing; the files are replaced in place.
func writeCert(t *testing.T, certFile, keyFile, cn string, mtime time.Time) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(certFile, mtime, mtime)
	os.Chtimes(keyFile, mtime, mtime)
}

func servedCN(t *testing.T, addr string) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
}

func TestTLSCertificateIsReloadedWhenTheFilesChange(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	t0 := time.Now().Add(-time.Hour)
	writeCert(t, cert, key, "first", t0)
	rl, err := newCertReloader(cert, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	rl.checkEvery = 0
	cn := func() string {
		c, _ := rl.GetCertificate(nil)
		x, _ := x509.ParseCertificate(c.Certificate[0])
		return x.Subject.CommonName
	}
	if cn() != "first" {
		t.Fatal("first certificate not served")
	}
	writeCert(t, cert, key, "second", t0.Add(time.Minute))
	if got := cn(); got != "second" {
		t.Fatalf("after the files changed the server presents %q", got)
	}
	// A broken replacement keeps the working certificate.
	var reported error
	rl.onError = func(err error) { reported = err }
	os.WriteFile(key, []byte("garbage"), 0o600)
	if got := cn(); got != "second" || reported == nil {
		t.Fatalf("broken key: serving %q, reported %v", got, reported)
	}

	// End to end through ListenAndServe.
	writeCert(t, cert, key, "third", t0.Add(2*time.Minute))
	addr, stop := serveForTest(t, http.NotFoundHandler(), ListenOptions{TLSCert: cert, TLSKey: key})
	defer stop()
	if got := servedCN(t, addr); got != "third" {
		t.Fatalf("served %q", got)
	}
}

func TestTLSFlagsMustComeTogether(t *testing.T) {
	err := ListenAndServe(context.Background(), http.NotFoundHandler(), ListenOptions{Addr: "127.0.0.1:0", TLSCert: "x.crt"})
	if err == nil || err.Error() != "a TLS certificate and its key go together" {
		t.Fatalf("err = %v", err)
	}
}
