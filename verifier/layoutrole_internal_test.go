package verifier

import (
	"context"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
	"github.com/cnabsec/cnabsec/metadata/client"
)

// ciSignedLayouts plays a repository (made by another tool) in which the
// releases role, i.e. the online CI key, lists the root layout or its keys.
type ciSignedLayouts struct {
	trustSource
	match func(name string) bool
}

func (c ciSignedLayouts) relabel(ti *client.TargetInfo) *client.TargetInfo {
	if ti != nil && c.match(ti.Name) {
		cp := *ti
		cp.Role = "releases"
		return &cp
	}
	return ti
}

func (c ciSignedLayouts) Target(ctx context.Context, name string) (*client.TargetInfo, error) {
	ti, err := c.trustSource.Target(ctx, name)
	return c.relabel(ti), err
}

func (c ciSignedLayouts) Download(ctx context.Context, name string, max int64) ([]byte, *client.TargetInfo, error) {
	b, ti, err := c.trustSource.Download(ctx, name, max)
	return b, c.relabel(ti), err
}

func TestLayoutOrLayoutKeyFromReleasesRoleIsNotUsed(t *testing.T) {
	reg := registrytest.New(t)
	s, err := scenario.Build(context.Background(), scenario.Options{Dir: t.TempDir(), Registry: reg.Host, Provenance: true})
	if err != nil {
		t.Fatal(err)
	}
	for what, match := range map[string]func(string) bool{
		"layout":     func(n string) bool { return strings.HasSuffix(n, "/root.layout") },
		"layout key": func(n string) bool { return strings.Contains(n, "/in-toto-pubkeys/") },
	} {
		v, err := New(Config{TrustedRoot: s.TrustedRoot, Location: s.RepoDir})
		if err != nil {
			t.Fatal(err)
		}
		v.wrap = func(ts trustSource) trustSource { return ciSignedLayouts{ts, match} }
		r, err := v.Verify(context.Background(), Request{Reference: s.BundleRef, Level: Level4})
		v.Close()
		if err == nil {
			t.Fatalf("%s signed by releases was used", what)
		}
		f := r.FirstFailure()
		if f == nil || !strings.Contains(f.Detail, "not the top-level targets role") {
			t.Fatalf("%s: first failure %+v, want the targets-role reason", what, f)
		}
	}
}
