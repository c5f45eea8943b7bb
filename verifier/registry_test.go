package verifier_test

import (
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/cnabsec/cnabsec/bundle/oci"
)

type rawManifest struct{ d oci.Descriptor }

func (r rawManifest) RawManifest() ([]byte, error)        { return r.d.RawManifest, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return types.MediaType(r.d.MediaType), nil }

// putManifest tags ref with the manifest d (its blobs are still in the registry).
func putManifest(ref name.Reference, d oci.Descriptor) error {
	tag, ok := ref.(name.Tag)
	if !ok {
		return nil
	}
	return remote.Put(tag, rawManifest{d})
}
