package keys

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"

	"github.com/youmark/pkcs8"

	"github.com/cnabsec/cnabsec/internal/atomicfile"
)

// MarshalPrivatePEM encodes the key as PKCS#8 PEM; with a passphrase as an
// ENCRYPTED PRIVATE KEY (PBES2: PBKDF2-SHA256 and AES-256-CBC).
func (p *PrivateKey) MarshalPrivatePEM(passphrase []byte) ([]byte, error) {
	if len(passphrase) == 0 {
		der, err := x509.MarshalPKCS8PrivateKey(p.key)
		if err != nil {
			return nil, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	}
	der, err := pkcs8.MarshalPrivateKey(p.key, passphrase, nil)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der}), nil
}

// MarshalSecuresystemslib encodes the public key as securesystemslib JSON,
// the form python in-toto reads for ed25519 and ecdsa keys.
func (k *PublicKey) MarshalSecuresystemslib() ([]byte, error) {
	j := sslibKey{KeyID: k.id, KeyIDHashAlgorithms: HashAlgorithms, KeyType: k.Type, Scheme: k.Scheme}
	j.KeyVal.Public = k.Value
	return json.Marshal(j)
}

// WriteKeyPair writes PREFIX.key (mode 0600) and PREFIX.pub (PKIX PEM), each
// atomically. An existing private key file is never overwritten.
func WriteKeyPair(prefix string, p *PrivateKey, passphrase []byte) error {
	priv, err := p.MarshalPrivatePEM(passphrase)
	if err != nil {
		return err
	}
	pub, err := p.pub.PEM()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(prefix), 0o700); err != nil {
		return err
	}
	if _, err := os.Stat(prefix + ".key"); err == nil {
		return fmt.Errorf("%s.key already exists: refusing to overwrite a private key", prefix)
	}
	if err := atomicfile.WriteFile(prefix+".key", priv, 0o600); err != nil {
		return err
	}
	return atomicfile.WriteFile(prefix+".pub", pub, 0o644)
}
