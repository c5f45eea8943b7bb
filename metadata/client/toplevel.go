package client

import (
	"context"
	"sort"
	"strings"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// TopLevelTargets lists the targets the trusted top-level targets role itself
// signs whose names start with prefix, sorted by name. Decisions that belong
// to that offline role (which root layout governs which versions) are made
// from this list alone: nothing a delegated role lists can appear in it.
func (c *Client) TopLevelTargets(ctx context.Context, prefix string) ([]TargetInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.refreshLocked(ctx); err != nil {
		return nil, err
	}
	md := c.up.GetTrustedMetadataSet().Targets[metadata.TARGETS]
	if md == nil {
		return nil, fault.Inconclusivef("top-level targets metadata is not loaded")
	}
	var out []TargetInfo
	for name, tf := range md.Signed.Targets {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		if tf == nil {
			return nil, fault.Deniedf("target %q: its entry in the top-level targets metadata is null", name)
		}
		info, err := targetInfo(name, tf, metadata.TARGETS)
		if err != nil {
			return nil, err
		}
		out = append(out, *info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// DelegationKeyIDs returns the key IDs the trusted top-level targets role
// lists for the delegated role (nil when it delegates no such role).
func (c *Client) DelegationKeyIDs(ctx context.Context, role string) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.refreshLocked(ctx); err != nil {
		return nil, err
	}
	md := c.up.GetTrustedMetadataSet().Targets[metadata.TARGETS]
	if md == nil || md.Signed.Delegations == nil {
		return nil, nil
	}
	for _, r := range md.Signed.Delegations.Roles {
		if r.Name == role {
			return append([]string(nil), r.KeyIDs...), nil
		}
	}
	return nil, nil
}
