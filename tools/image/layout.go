package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// writeLayout writes img, tagged refName, as the OCI image layout out: built
// complete beside it, then put in place, so that out is never half written.
// An existing out is replaced only when it is an OCI layout.
func writeLayout(out string, img v1.Image, refName string) error {
	if err := replaceable(out); err != nil {
		return err
	}
	parent := filepath.Dir(out)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": refName})); err != nil {
		return fmt.Errorf("writing the OCI layout: %v", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

// replaceable refuses to delete a directory that is not an OCI layout.
func replaceable(out string) error {
	if _, err := os.Lstat(out); os.IsNotExist(err) {
		return nil
	}
	if fi, err := os.Lstat(filepath.Join(out, "oci-layout")); err != nil || !fi.Mode().IsRegular() {
		return fault.Inputf("-out %s exists and is not an OCI image layout: not replacing it", out)
	}
	return nil
}

// push writes img to ref and returns REF@DIGEST. Plain HTTP is used for a
// loopback registry only (go-containerregistry would also use it for
// private addresses).
func push(ctx context.Context, ref string, img v1.Image) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fault.Inputf("-push %q: %v", ref, err)
	}
	if err := checkScheme(r.Context().Registry); err != nil {
		return "", err
	}
	if err := remote.Write(r, img, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return "", fmt.Errorf("pushing %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return r.Context().Digest(d.String()).String(), nil
}

func checkScheme(reg name.Registry) error {
	if reg.Scheme() == "https" {
		return nil
	}
	host, _, err := net.SplitHostPort(reg.RegistryStr())
	if err != nil {
		host = reg.RegistryStr()
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fault.Inputf("-push: registry %s would be reached over plain HTTP; push to an HTTPS registry", reg.RegistryStr())
}
