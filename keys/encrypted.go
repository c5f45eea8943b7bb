package keys

import "encoding/pem"

// IsEncrypted reports whether a private key file is encrypted (a PKCS#8
// ENCRYPTED PRIVATE KEY, a legacy OpenSSL encrypted PEM, or a
// securesystemslib encrypted key).
func IsEncrypted(b []byte) bool {
	if looksSSLibEncrypted(b) {
		return true
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return false
	}
	return block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] == "4,ENCRYPTED"
}
