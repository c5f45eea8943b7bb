// Command cnabsec-signer-pkcs11 is the signer plugin that serves pkcs11: key
// references (RFC 7512) for cnabsec: it signs TUF metadata and in-toto links
// with ECDSA P-256, RSA (RSASSA-PSS SHA-256) and, where the token has
// CKM_EDDSA, Ed25519 keys held by a PKCS#11 token, and creates key pairs on
// the token. It speaks the protocol of docs/signer-plugins.md on stdin and
// stdout. It needs cgo (it loads the token's PKCS#11 module), which is why it
// is a separate program: cnabsec itself is built without cgo.
//
// The reference names the module (module-path=), the token (token= label or
// serial=), the key (object= label and/or id=) and where the PIN is
// (pin-source=file:PATH; pin-value= is refused by cnabsec).
package main

import (
	"os"

	"github.com/cnabsec/cnabsec/keys"
)

func main() {
	os.Exit(keys.ServePlugin(os.Stdin, os.Stdout, handle))
}
