package layouts

import (
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/keys"
)

func TestReadLayoutRefusesALayoutItsOwnerKeyDidNotSign(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	info, err := ReadLayout(c.layout, []*keys.PublicKey{c.owner.Public()})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(info.Steps, ",") != "write-bundle,package" || len(info.Functionaries) != 2 || !info.Expires.After(testNow) {
		t.Fatalf("info %+v", info)
	}
	other := genKey(t, keys.GenEd25519)
	_, err = ReadLayout(c.layout, []*keys.PublicKey{other.Public()})
	wantInput(t, err, "no signature by key "+other.Public().ID())
	_, err = ReadLayout(c.links[c.linkName("package", c.ci)], nil)
	wantInput(t, err, "a link, not a layout")
	_, err = ReadLayout([]byte(`{"signed":{}}`), nil)
	wantInput(t, err, `missing "signed" or "signatures"`)
}
