package client

import (
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/keys"
)

func TestECDSAAndRSAKeysVerify(t *testing.T) {
	// Keys listed the way package keys lists them (one key ID for TUF and
	// in-toto) verify in go-tuf for every supported type.
	r := newTestRepo(t)
	ec, err := keys.Generate(keys.GenECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	rsa, err := keys.Generate(keys.GenRSA3072)
	if err != nil {
		t.Fatal(err)
	}
	r.timestampKeys, r.snapshotKeys = []*keys.PrivateKey{ec}, []*keys.PrivateKey{rsa}
	r.setRoleKeys(metadata.TIMESTAMP, 1, ec)
	r.setRoleKeys(metadata.SNAPSHOT, 1, rsa)
	r.writeRoot(r.rootKeys...)
	r.writeAll()
	if _, _, err := r.client(t).Download(ctxT(t), linkName, 0); err != nil {
		t.Fatal(err)
	}
}
