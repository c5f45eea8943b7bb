package ocistore

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
)

func TestCopiedMetadataVerifiesFromTheMirror(t *testing.T) {
	r := newRepo(t)
	src := registrytest.New(t)
	var reqs counter
	mirror := registrytest.New(t, reqs.wrap)
	push(t, r, mustRepo(t, src, "org/tuf"))
	ctx := context.Background()
	res, err := Copy(ctx, mustRepo(t, src, "org/tuf"), mustRepo(t, mirror, "mirror/tuf"), oci.Options{})
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	if res.Copied == 0 || res.Unchanged != 0 {
		t.Fatalf("first copy: %+v", res)
	}
	c := newClient(t, r, "oci://"+mirror.Ref("mirror/tuf"))
	if err := c.Refresh(ctx); err != nil {
		t.Fatalf("refresh from the mirror: %v", err)
	}
	data, _, err := c.Download(ctx, testTarget, 0)
	if err != nil || !bytes.Equal(data, testContent) {
		t.Fatalf("download from the mirror: %q, %v", data, err)
	}

	reqs.reset()
	again, err := Copy(ctx, mustRepo(t, src, "org/tuf"), mustRepo(t, mirror, "mirror/tuf"), oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Copied != 0 || again.Unchanged != res.Copied || reqs.get(http.MethodPut) != 0 {
		t.Fatalf("second copy re-sent data: %+v, %d PUTs", again, reqs.get(http.MethodPut))
	}
}

func TestCopyFromARepositoryWithoutMetadataIsRefused(t *testing.T) {
	reg := registrytest.New(t)
	reg.PushImage(t, "org/app:1.0", 1)
	_, err := Copy(context.Background(), mustRepo(t, reg, "org/app"), mustRepo(t, reg, "mirror/tuf"), oci.Options{})
	if fault.KindOf(err) != fault.Input {
		t.Fatalf("kind %v, want Input: %v", fault.KindOf(err), err)
	}
	wantContains(t, err, "org/app holds no TUF metadata", "tuf-timestamp.json")
}
