package verifier_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/cnabsec/cnabsec/internal/testing/scenario"
	"github.com/cnabsec/cnabsec/verifier"
)

// Verify a bundle at level 4 before handing it to a runtime.
func ExampleVerify() {
	ctx := context.Background()
	// A registry and a signed release with provenance, as a publisher makes them.
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	s, err := scenario.Build(ctx, scenario.Options{Dir: dir, Registry: strings.TrimPrefix(reg.URL, "http://"), Provenance: true})
	if err != nil {
		log.Fatal(err)
	}

	report, err := verifier.Verify(ctx, s.BundleRef,
		verifier.WithTrustedRoot(s.TrustedRoot), // pinned out of band: no trust on first use
		verifier.WithMetadata(s.RepoDir),        // or https://..., oci://...
		verifier.WithLevel(verifier.Level4))
	if err != nil {
		log.Fatalf("denied: %s", report.Error)
	}
	fmt.Println("verified:", report.Verified, "level:", report.AchievedLevel)
	fmt.Println("bundle bytes for the runtime:", len(report.VerifiedBundle()) == len(s.BundleJSON))
	// Output:
	// verified: true level: 4
	// bundle bytes for the runtime: true
}
