package keys

import (
	"context"
	"time"
)

// OpenSigner opens the private key a reference names: a key file (decrypted
// with passphrase when encrypted), or a key held by a token or signer plugin
// (asked for its public key now, for signatures later). timeout bounds each
// plugin call (0: DefaultPluginTimeout).
func OpenSigner(ctx context.Context, ref *Ref, passphrase []byte, timeout time.Duration) (Signer, error) {
	if ref.Location == LocationFile {
		return LoadPrivate(ref.Path, passphrase)
	}
	return OpenPlugin(ctx, ref, timeout)
}
