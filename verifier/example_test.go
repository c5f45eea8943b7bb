package verifier_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/cnabsec/cnabsec"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
	"github.com/cnabsec/cnabsec/verifier"
)

// Verify a bundle at level 4 before handing it to a runtime: a Verifier is
// built once per trust root (a service keeps it), and each verification is a
// Request.
func ExampleVerifier_Verify() {
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

	v, err := verifier.New(verifier.Config{
		TrustedRoot: s.TrustedRoot, // pinned out of band: no trust on first use
		Location:    s.RepoDir,     // or https://..., oci://...
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	report, err := v.Verify(ctx, verifier.Request{Reference: s.BundleRef, Level: verifier.Level4})
	if err != nil {
		log.Fatalf("denied: %s", report.Error)
	}
	fmt.Println("verified:", report.Verified, "level:", report.AchievedLevel)
	fmt.Println("bundle bytes for the runtime:", len(report.VerifiedBundle()) == len(s.BundleJSON))
	for _, p := range report.Provenance {
		if p.Subject == s.BundleRef {
			fmt.Println("bundle provenance rests on", p.Layout == s.App+"/in-toto-metadata/root.layout", len(p.Steps), "steps")
		}
	}
	// Output:
	// verified: true level: 4
	// bundle bytes for the runtime: true
	// bundle provenance rests on true 2 steps
}

// A program outside this module tells denied from inconclusive from bad
// input with the public error kinds of package cnabsec.
func ExampleVerifier_Verify_classifyErrors() {
	classify := func(err error) string {
		switch {
		case err == nil:
			return "verified"
		case errors.Is(err, cnabsec.ErrDenied):
			return "denied" // the artifact or its metadata is wrong: do not install
		case errors.Is(err, cnabsec.ErrInconclusive):
			return "inconclusive" // the network failed: try again
		case errors.Is(err, cnabsec.ErrInput):
			return "bad input" // fix the request
		}
		return "unclassified"
	}
	ctx := context.Background()
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	s, err := scenario.Build(ctx, scenario.Options{Dir: dir, Registry: strings.TrimPrefix(reg.URL, "http://")})
	if err != nil {
		log.Fatal(err)
	}
	v, err := verifier.New(verifier.Config{TrustedRoot: s.TrustedRoot, Location: s.RepoDir})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	for _, req := range []verifier.Request{
		{Reference: s.BundleRef},                                  // signed
		{Reference: s.App + ":9.9"},                               // never signed
		{Reference: s.BundleRef, From: "127.0.0.1:1/org/app:1.0"}, // unreachable registry
		{Reference: s.BundleRef, Level: "5"},                      // no such level
	} {
		_, err := v.Verify(ctx, req)
		fmt.Println(classify(err))
	}
	// Output:
	// verified
	// denied
	// inconclusive
	// bad input
}
