package verifier_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/verifier"
)

func TestResolveDigestReadsWhatTheTagNamesNow(t *testing.T) {
	var manifestGets atomic.Int64
	reg := registrytest.New(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/") {
				manifestGets.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	})
	v, err := verifier.New(verifier.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()
	first := reg.PushImage(t, "org/web:1.0", 1)
	if d, err := v.ResolveDigest(ctx, first.Ref); err != nil || d != first.Digest {
		t.Fatalf("tag: %q, %v; want %s", d, err, first.Digest)
	}
	moved := reg.PushImage(t, "org/web:1.0", 2)
	if d, err := v.ResolveDigest(ctx, moved.Ref); err != nil || d != moved.Digest || d == first.Digest {
		t.Fatalf("moved tag: %q, %v; want %s", d, err, moved.Digest)
	}
	before := manifestGets.Load()
	byDigest := reg.Ref("org/web@" + first.Digest)
	if d, err := v.ResolveDigest(ctx, byDigest); err != nil || d != first.Digest || manifestGets.Load() != before {
		t.Fatalf("digest reference: %q, %v, %d registry requests (want none)", d, err, manifestGets.Load()-before)
	}
}

func TestResolveDigestOfAMissingTagIsDeniedAndOfADeadRegistryInconclusive(t *testing.T) {
	reg := registrytest.New(t)
	v, err := verifier.New(verifier.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()
	reg.PushImage(t, "org/web:1.0", 1)
	_, err = v.ResolveDigest(ctx, reg.Ref("org/web:2.0"))
	if fault.KindOf(err) != fault.Denied || !strings.Contains(err.Error(), "org/web:2.0") {
		t.Fatalf("missing tag: %v (kind %v)", err, fault.KindOf(err))
	}
	reg.Server.Close()
	_, err = v.ResolveDigest(ctx, reg.Ref("org/web:1.0"))
	if fault.KindOf(err) != fault.Inconclusive || !strings.Contains(err.Error(), "org/web:1.0") {
		t.Fatalf("registry down: %v (kind %v)", err, fault.KindOf(err))
	}
}
