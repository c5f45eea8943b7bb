package oci

import (
	"context"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
)

// BenchmarkCopyAgainstCrane copies a bundle (one 4 × 1 MiB image) between two
// in-memory registries with Copy, and the same bytes (bundle index and
// image, one at a time) with crane.Copy as the reference, and reports
// copy_vs_crane: the ratio of the two times in this run. Copy does more per
// bundle (reads and parses bundle.json, checks every digest) and should stay
// within a small factor of crane.
func BenchmarkCopyAgainstCrane(b *testing.B) {
	src := registrytest.New(b)
	dst := registrytest.New(b)
	dstCrane := registrytest.New(b) // its own store: the in-memory registry shares blobs across repositories
	img, err := random.Image(1<<20, 4, random.WithSource(rand.NewSource(1)))
	if err != nil {
		b.Fatal(err)
	}
	imgRef, _ := name.ParseReference(src.Ref("src/big:1"))
	if err := remote.Write(imgRef, img); err != nil {
		b.Fatal(err)
	}
	d, _ := img.Digest()
	sz, _ := img.Size()
	raw := []byte(fmt.Sprintf(`{"invocationImages":[{"contentDigest":%q,"image":%q,"imageType":"docker","size":%d}],"name":"big","schemaVersion":"v1.0.0","version":"1.0.0"}`,
		d.String(), imgRef.Name(), sz))
	bundleRef, _ := name.ParseReference(src.Ref("bundles/big:1"))
	if _, err := PushBundle(context.Background(), raw, bundleRef, Options{}); err != nil {
		b.Fatal(err)
	}
	var ours, ref time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dstRef, _ := name.ParseReference(dst.Ref(fmt.Sprintf("ours%d/big:1", i)))
		t0 := time.Now()
		if _, err := Copy(context.Background(), bundleRef, dstRef, Options{}); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		// Reference: crane copies the image, then the bundle index (which
		// needs its config manifest and the image in place).
		repo := dstCrane.Ref(fmt.Sprintf("crane%d/big", i))
		if err := crane.Copy(src.Ref("bundles/big@"+d.String()), repo+"@"+d.String()); err != nil {
			b.Fatal(err)
		}
		if err := crane.Copy(src.Ref("bundles/big:1"), repo+":1"); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		ours += t1.Sub(t0)
		ref += t2.Sub(t1)
	}
	b.StopTimer()
	b.ReportMetric(float64(ours)/float64(ref), "copy_vs_crane")
}
