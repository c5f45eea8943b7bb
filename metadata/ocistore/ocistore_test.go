package ocistore

import (
	"bytes"
	"context"
	"testing"

	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
)

func TestPushedRepositoryRefreshesAndDownloadsTarget(t *testing.T) {
	r := newRepo(t)
	reg := registrytest.New(t)
	res := push(t, r, mustRepo(t, reg, "org/tuf"))
	if res.Targets != 1 || len(res.Metadata) == 0 {
		t.Fatalf("push result %+v: want 1 target and metadata files", res)
	}
	if last := res.Metadata[len(res.Metadata)-1]; last != "timestamp.json" {
		t.Fatalf("last metadata file pushed is %s, want timestamp.json (order %v)", last, res.Metadata)
	}
	c := newClient(t, r, "oci://"+reg.Ref("org/tuf"))
	ctx := context.Background()
	if err := c.Refresh(ctx); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	data, _, err := c.Download(ctx, testTarget, 0)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	if !bytes.Equal(data, testContent) {
		t.Fatalf("downloaded %q, want %q", data, testContent)
	}
}
