package layouts

import (
	"context"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
	"github.com/cnabsec/cnabsec/keys"
)

func TestLinksOfMillionsOfJSONValuesAreDeniedBeforeParsing(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	in := c.input()
	// 2 MiB of zeros: a million values, within every byte limit.
	in.Links["flood.00000000.link"] = []byte(`{"signed":{"_type":"link","x":[` + strings.Repeat("0,", 1<<20) + `0]},"signatures":[]}`)
	res, err := Verify(context.Background(), in)
	errtest.WantIs(t, err, fault.Denied, ErrInputTooLarge,
		"in-toto input size: root.layout: the layout and 3 links hold", "JSON values, more than the limit of 300000 per verification")
	if f := res.FirstFailure(); f == nil || f.Name != CheckInputSize {
		t.Fatalf("first failure %+v, want %s", f, CheckInputSize)
	}
}

func TestTheJSONValueLimitIsConfigurableAndARealChainFitsTheDefault(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	if _, err := Verify(context.Background(), c.input()); err != nil {
		t.Fatalf("a real chain was denied: %v", err)
	}
	in := c.input()
	in.MaxJSONValues = 10
	_, err := Verify(context.Background(), in)
	errtest.WantIs(t, err, fault.Denied, ErrInputTooLarge, "more than the limit of 10 per verification")
}

func TestCountJSONValuesCountsValuesAndNamesOutsideStrings(t *testing.T) {
	for doc, want := range map[string]int{
		`0`:                             1,
		`{"a":1,"b":[2,3]}`:             7,
		`{"a,:{[":"\",:{[\\"}`:          3,
		`["x\\",1]`:                     3,
		`{"signed":{},"signatures":[]}`: 7,
	} {
		if got := CountJSONValues([]byte(doc)); got != want {
			t.Errorf("CountJSONValues(%s) = %d, want %d", doc, got, want)
		}
	}
}
