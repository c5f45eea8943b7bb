package ocistore

import (
	"context"
	"fmt"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// pusher uploads files to one repository, authenticating once.
type pusher struct {
	ctx         context.Context
	repo        name.Repository
	puller      *remote.Puller
	pusher      *remote.Pusher
	configMu    sync.Mutex
	configReady bool
	// root returns the newest root being published: the registry's
	// timestamp is a rollback floor only when that root's timestamp keys
	// signed it.
	root func() ([]byte, error)
	// pub is what is being published: a versioned file the registry holds
	// differently is kept only when this repository's keys signed it.
	pub        *publication
	replacedMu sync.Mutex
	replaced   []Replaced
}

func newPusher(ctx context.Context, repo name.Repository, ro []remote.Option) (*pusher, error) {
	pl, err := remote.NewPuller(ro...)
	if err != nil {
		return nil, fault.Inputf("registry options for %s: %v", repo.Name(), err)
	}
	ps, err := remote.NewPusher(ro...)
	if err != nil {
		return nil, fault.Inputf("registry options for %s: %v", repo.Name(), err)
	}
	return &pusher{ctx: ctx, repo: repo, puller: pl, pusher: ps}, nil
}

// put makes tag hold manifest m whose single layer is layer; it returns
// false when the tag already held exactly m.
//
// A tag already holding a different manifest is replaced only when
// mayReplace (nil: always) allows it.
func (p *pusher) put(tag string, layer v1.Layer, m []byte, what string, mayReplace func() error) (bool, error) {
	what = fmt.Sprintf("%s → %s:%s", what, p.repo.Name(), tag)
	ref := p.repo.Tag(tag)
	exists, same, err := p.has(ref, m, what)
	if err != nil || same {
		return false, err
	}
	if exists && mayReplace != nil {
		if err := mayReplace(); err != nil {
			return false, err
		}
	}
	if err := p.ensureConfig(); err != nil {
		return false, err
	}
	if err := p.pusher.Upload(p.ctx, p.repo, layer); err != nil {
		return false, classify(p.ctx, err, what+": uploading the blob", false)
	}
	if err := p.pusher.Put(p.ctx, ref, rawManifest{m}); err != nil {
		return false, classify(p.ctx, err, what+": uploading the manifest", false)
	}
	return true, nil
}

// ensureConfig uploads the empty config blob once.
func (p *pusher) ensureConfig() error {
	p.configMu.Lock()
	defer p.configMu.Unlock()
	if p.configReady {
		return nil
	}
	if err := p.pusher.Upload(p.ctx, p.repo, static.NewLayer(emptyConfig, mediaTypeEmpty)); err != nil {
		return classify(p.ctx, err, "empty config blob → "+p.repo.Name(), false)
	}
	p.configReady = true
	return nil
}

// has reports whether ref exists and whether it holds manifest m.
func (p *pusher) has(ref name.Tag, m []byte, what string) (exists, same bool, err error) {
	desc, err := p.puller.Head(p.ctx, ref)
	if err != nil {
		if isNotFound(err) {
			return false, false, nil
		}
		return false, false, classify(p.ctx, err, what+": checking the tag", false)
	}
	return true, desc.Digest.Hex == sha256Hex(m), nil
}
