package keys

import "encoding/pem"

// IsEncrypted reports whether a private key file is encrypted (a PKCS#8
// ENCRYPTED PRIVATE KEY, or a legacy OpenSSL encrypted PEM).
func IsEncrypted(b []byte) bool {
	block, _ := pem.Decode(b)
	if block == nil {
		return false
	}
	return block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] == "4,ENCRYPTED"
}
