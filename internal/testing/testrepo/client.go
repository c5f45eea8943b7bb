package testrepo

import (
	"net/http"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"
)

// Refresh runs go-tuf's updater against the repository served at baseURL
// (see Serve), pinning root, with its own HTTP client, a timeout and no
// retries. It returns the refreshed updater, or the error Refresh gave.
func Refresh(t testing.TB, baseURL string, root []byte) (*updater.Updater, error) {
	t.Helper()
	cfg, err := config.New(baseURL+"/metadata", root)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RemoteTargetsURL = baseURL + "/targets"
	cfg.LocalMetadataDir = t.TempDir()
	cfg.LocalTargetsDir = t.TempDir()
	if err := cfg.SetDefaultFetcherHTTPClient(&http.Client{Timeout: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	up, err := updater.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := up.Refresh(); err != nil {
		return nil, err
	}
	return up, nil
}

// Refresh serves the repository and refreshes a fresh go-tuf client pinned
// to its trusted root.
func (r *Repo) Refresh(t testing.TB) (*updater.Updater, error) {
	t.Helper()
	return Refresh(t, r.Serve(t), r.TrustedRoot)
}
