package main

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
)

// scriptCmds are the in-process commands scripts use to set the scene: a
// loopback registry, a signed release, and the registry-side attacks.
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// registry: start an in-memory OCI registry on 127.0.0.1; sets $REGISTRY.
	"registry": func(ts *testscript.TestScript, neg bool, args []string) {
		srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
		ts.Defer(srv.Close)
		ts.Setenv("REGISTRY", strings.TrimPrefix(srv.URL, "http://"))
	},
	// release [provenance]: build a signed release on $REGISTRY in $WORK/release;
	// sets $ROOT, $REPO, $KEYS, $BUNDLE (ref), $APP, $WEB, $INSTALLER, $BUNDLE_FILE, $LINKS.
	"release": func(ts *testscript.TestScript, neg bool, args []string) {
		dir := ts.MkAbs("release")
		s, err := scenario.Build(context.Background(), scenario.Options{Dir: dir, Registry: ts.Getenv("REGISTRY"), Provenance: len(args) > 0 && args[0] == "provenance"})
		ts.Check(err)
		for k, v := range map[string]string{
			"ROOT": s.RepoDir + "/metadata/1.root.json", "REPO": s.RepoDir, "KEYS": s.KeyDir,
			"BUNDLE": s.BundleRef, "APP": s.App, "WEB": s.WebRef, "INSTALLER": s.InstallerRef,
			"WEB_DIGEST": s.WebDigest, "INSTALLER_DIGEST": s.InstallerDigest,
			"BUNDLE_FILE": s.WorkDir + "/bundle.json", "LINKS": s.WorkDir + "/bundle-links",
		} {
			ts.Setenv(k, v)
		}
	},
	// push-image REF SEED: push a random image (content fixed by SEED) to REF.
	"push-image": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: push-image REF SEED")
		}
		seed, err := strconv.ParseInt(args[1], 10, 64)
		ts.Check(err)
		img, err := scenario.RandomImage(seed)
		ts.Check(err)
		_, err = scenario.PushImage(args[0], img)
		ts.Check(err)
	},
	// push-bundle REF FILE: push FILE as a thin bundle to REF (no signing).
	"push-bundle": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: push-bundle REF FILE")
		}
		raw, err := os.ReadFile(ts.MkAbs(args[1]))
		ts.Check(err)
		ref, err := name.ParseReference(args[0])
		ts.Check(err)
		_, err = oci.PushBundle(context.Background(), raw, ref, oci.Options{})
		ts.Check(err)
	},
}
