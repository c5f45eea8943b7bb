package metadata_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tuf "github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
)

// TestStagedBatchKilledMidStagingLandsAllOrNothing: a batch staged without
// the online keys writes one file per hash bin. A writer killed before the
// staging transaction commits leaves staged/ as it was (nothing of the batch
// is ever published); one killed after the commit is rolled forward by the
// next writer (all of it is). Never half.
func TestStagedBatchKilledMidStagingLandsAllOrNothing(t *testing.T) {
	for _, tc := range []struct {
		stop   string
		landed int
	}{{"staged-files", 0}, {"staged-commit", 2}} {
		t.Run(tc.stop, func(t *testing.T) {
			r := testrepo.New(t, testrepo.WithBins(4), testrepo.WithDelegated("example.com/org/app"))
			// Two versions in different bins (4 bins: 2 bits of TAP 15).
			bins := &tuf.SuccinctRoles{BitLength: 2, NamePrefix: "releases-bin"}
			var names []string
			seen := map[string]bool{}
			for i := 0; len(names) < 2; i++ {
				n := fmt.Sprintf("example.com/org/app:%d", i)
				if role := bins.GetRolesForTarget(n)[0].Name; !seen[role] {
					seen[role] = true
					names = append(names, n)
				}
			}
			metadata.SetFailAfter(func(step string) error {
				if step == tc.stop {
					return fmt.Errorf("killed after %s", step)
				}
				return nil
			})
			_, err := r.Repo.Update(ctx, metadata.UpdateOptions{Signers: []keys.Signer{r.Releases}}, func(tx *metadata.Tx) error {
				for _, n := range names {
					if err := tx.AddTarget(n, blob(n)); err != nil {
						return err
					}
				}
				return nil
			})
			metadata.SetFailAfter(nil)
			if err == nil || !strings.Contains(err.Error(), "killed after "+tc.stop) {
				t.Fatalf("err = %v", err)
			}
			if _, err := os.Stat(filepath.Join(r.Dir, "staged", ".txn")); err != nil {
				t.Fatalf("the killed writer left no staging transaction: %v", err)
			}
			// The next writer publishes whatever is staged.
			res, err := r.Repo.Refresh(ctx, metadata.RefreshOptions{Snapshot: r.Snapshot, Timestamp: r.Timestamp})
			if err != nil || !res.Published {
				t.Fatalf("refresh after the kill: %v %+v", err, res)
			}
			up, err := r.Refresh(t)
			if err != nil {
				t.Fatalf("client: %v", err)
			}
			landed := 0
			for _, n := range names {
				if _, err := up.GetTargetInfo(n); err == nil {
					landed++
				}
			}
			if landed != tc.landed {
				t.Fatalf("killed after %s: %d of the batch's %d versions published, want %d (all or nothing)", tc.stop, landed, len(names), tc.landed)
			}
			if _, err := os.Stat(filepath.Join(r.Dir, "staged", ".txn")); !os.IsNotExist(err) {
				t.Fatalf("staging transaction left behind after recovery: %v", err)
			}
		})
	}
}
