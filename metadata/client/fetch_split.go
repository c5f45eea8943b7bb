package client

import (
	"context"
	"fmt"
	"strings"
)

// SplitFetcher serves a repository whose metadata and target files live at
// separate places (as in the TUF conformance protocol's --metadata-url and
// --target-base-url): "metadata/NAME" is read as NAME from Metadata and
// "targets/NAME" as NAME from Targets. Anything else is refused.
type SplitFetcher struct {
	Metadata Fetcher
	Targets  Fetcher
}

// Fetch implements Fetcher.
func (s SplitFetcher) Fetch(ctx context.Context, name string, maxLen int64) ([]byte, error) {
	if rest, ok := strings.CutPrefix(name, "metadata/"); ok && s.Metadata != nil {
		return s.Metadata.Fetch(ctx, rest, maxLen)
	}
	if rest, ok := strings.CutPrefix(name, "targets/"); ok && s.Targets != nil {
		return s.Targets.Fetch(ctx, rest, maxLen)
	}
	return nil, fmt.Errorf("%s: no fetcher for this file: %w", name, ErrNotFound)
}
