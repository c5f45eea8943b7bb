package server

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// certReloader serves a certificate from files and reloads it when either
// file changes (cert-manager and kubelet secret mounts replace them in place).
// A changed pair that does not load keeps the previous certificate.
type certReloader struct {
	certFile, keyFile string
	checkEvery        time.Duration
	now               func() time.Time

	mu        sync.Mutex
	cert      *tls.Certificate
	certMod   time.Time
	keyMod    time.Time
	certSize  int64
	keySize   int64
	lastCheck time.Time
	onError   func(error)
}

func newCertReloader(certFile, keyFile string, onError func(error)) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, checkEvery: time.Second, now: time.Now, onError: onError}
	if err := r.reload(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *certReloader) reload() error {
	cst, err := os.Stat(r.certFile)
	if err != nil {
		return fault.Inputf("TLS certificate %s: %w", r.certFile, err)
	}
	kst, err := os.Stat(r.keyFile)
	if err != nil {
		return fault.Inputf("TLS key %s: %w", r.keyFile, err)
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fault.Inputf("TLS certificate %s and key %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert = &cert
	r.certMod, r.keyMod = cst.ModTime(), kst.ModTime()
	r.certSize, r.keySize = cst.Size(), kst.Size()
	return nil
}

// changed reports whether either file differs (mtime or size) from the loaded pair.
func (r *certReloader) changed() bool {
	cst, err1 := os.Stat(r.certFile)
	kst, err2 := os.Stat(r.keyFile)
	if err1 != nil || err2 != nil {
		return false
	}
	return !cst.ModTime().Equal(r.certMod) || !kst.ModTime().Equal(r.keyMod) || cst.Size() != r.certSize || kst.Size() != r.keySize
}

// GetCertificate is a tls.Config.GetCertificate that reloads changed files
// (checked at most once per checkEvery).
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); now.Sub(r.lastCheck) >= r.checkEvery {
		r.lastCheck = now
		if r.changed() {
			if err := r.reload(); err != nil && r.onError != nil {
				r.onError(fmt.Errorf("reloading TLS certificate (keeping the previous one): %w", err))
			}
		}
	}
	return r.cert, nil
}
