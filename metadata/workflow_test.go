package metadata_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/errtest"
	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
)

func TestRootRotationSignedOnlyByOldOrOnlyByNewKeysDoesNotPublish(t *testing.T) {
	for _, only := range []string{"old", "new"} {
		t.Run(only, func(t *testing.T) {
			r := testrepo.New(t)
			newRoot := gen(t)
			signer := keys.Signer(r.Root)
			want := "unique new root keys"
			if only == "new" {
				signer, want = newRoot, "unique keys of root version 1"
			}
			res, err := r.Repo.Rotate(ctx, metadata.RotateOptions{
				Role: "root", Add: []*keys.PublicKey{newRoot.Public()}, Remove: []string{r.Root.Public().ID()},
				Signers: []keys.Signer{signer}, Snapshot: r.Snapshot, Timestamp: r.Timestamp,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Published {
				t.Fatalf("root version 2 signed only by the %s keys was published", only)
			}
			if !strings.Contains(waitingText(res), want) {
				t.Errorf("waiting = %q, want mention of %q", res.Waiting, want)
			}
			if _, err := os.Stat(filepath.Join(r.Dir, "metadata", "2.root.json")); !errors.Is(err, os.ErrNotExist) {
				t.Fatal("2.root.json was written")
			}
			other := keys.Signer(newRoot)
			if only == "new" {
				other = r.Root
			}
			res, err = r.Repo.Sign(ctx, metadata.SignOptions{Role: "root", Key: other})
			if err != nil || !res.Published {
				t.Fatalf("with both thresholds met: %v %+v", err, res)
			}
			// A client pinned to root 1 follows the rotation.
			up, err := r.Refresh(t)
			if err != nil {
				t.Fatalf("client refresh after rotation: %v", err)
			}
			if v := up.GetTrustedMetadataSet().Root.Signed.Version; v != 2 {
				t.Errorf("client root version %d, want 2", v)
			}
			// The old root key can no longer sign a root.
			_, err = r.Repo.Refresh(ctx, metadata.RefreshOptions{Roles: []string{"root"}, Signers: []keys.Signer{r.Root}, Snapshot: r.Snapshot, Timestamp: r.Timestamp})
			errtest.Want(t, err, fault.Input, r.Root.Public().ID(), "is not a key of the role(s) this change modifies")
		})
	}
}

func TestTimestampKeyRotationRepublishesWithTheNewKey(t *testing.T) {
	r := testrepo.New(t)
	newTS := gen(t)
	_, err := r.Repo.Rotate(ctx, metadata.RotateOptions{
		Role: "timestamp", Add: []*keys.PublicKey{newTS.Public()}, Remove: []string{r.Timestamp.Public().ID()},
		Signers: []keys.Signer{r.Root}, Snapshot: r.Snapshot, Timestamp: r.Timestamp,
	})
	// The old timestamp key is no longer a timestamp key.
	errtest.Want(t, err, fault.Input, r.Timestamp.Public().ID(), "is not a key of role timestamp")
	res, err := r.Repo.Rotate(ctx, metadata.RotateOptions{
		Role: "timestamp", Add: []*keys.PublicKey{newTS.Public()}, Remove: []string{r.Timestamp.Public().ID()},
		Signers: []keys.Signer{r.Root}, Snapshot: r.Snapshot, Timestamp: newTS,
	})
	if err != nil || !res.Published {
		t.Fatalf("%v %+v", err, res)
	}
	if _, err := r.Refresh(t); err != nil {
		t.Fatalf("client after timestamp key rotation: %v", err)
	}
}

func TestTargetsKeyRotationNeedsTheNewTargetsKey(t *testing.T) {
	r := testrepo.New(t)
	newTargets := gen(t)
	res, err := r.Repo.Rotate(ctx, metadata.RotateOptions{
		Role: "targets", Add: []*keys.PublicKey{newTargets.Public()}, Remove: []string{r.Targets.Public().ID()},
		Signers: []keys.Signer{r.Root}, Snapshot: r.Snapshot, Timestamp: r.Timestamp,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Published {
		t.Fatal("published a root whose targets metadata the new targets key has not signed")
	}
	res, err = r.Repo.Sign(ctx, metadata.SignOptions{Role: "targets", Key: newTargets, Snapshot: r.Snapshot, Timestamp: r.Timestamp})
	if err != nil || !res.Published {
		t.Fatalf("%v %+v", err, res)
	}
	if _, err := r.Refresh(t); err != nil {
		t.Fatalf("client after targets key rotation: %v", err)
	}
}

func TestReleasesKeyRotationRefusesTheOldKey(t *testing.T) {
	r := testrepo.New(t, testrepo.WithDelegated("example.com/org/app"))
	newRel := gen(t)
	res, err := r.Repo.Rotate(ctx, metadata.RotateOptions{
		Role: "releases", Add: []*keys.PublicKey{newRel.Public()}, Remove: []string{r.Releases.Public().ID()},
		Signers: []keys.Signer{r.Targets, newRel}, Snapshot: r.Snapshot, Timestamp: r.Timestamp,
	})
	if err != nil || !res.Published {
		t.Fatalf("%v %+v", err, res)
	}
	_, err = r.Repo.Update(ctx, metadata.UpdateOptions{Signers: []keys.Signer{r.Releases}, Snapshot: r.Snapshot, Timestamp: r.Timestamp}, func(tx *metadata.Tx) error {
		return tx.AddTarget("example.com/org/app:1.0", blob("x"))
	})
	errtest.Want(t, err, fault.Input, r.Releases.Public().ID(), "not a key of the role(s) this change modifies: releases")
	r.Update(t, []keys.Signer{newRel}, func(tx *metadata.Tx) error { return tx.AddTarget("example.com/org/app:1.0", blob("x")) })
	up, err := r.Refresh(t)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.GetTargetInfo("example.com/org/app:1.0"); err != nil {
		t.Fatal(err)
	}
}

func TestChangeWithoutOnlineKeysIsStagedThenPublishedByRefresh(t *testing.T) {
	r := testrepo.New(t, testrepo.WithDelegated("example.com/org/app"))
	res, err := r.Repo.Update(ctx, metadata.UpdateOptions{Signers: []keys.Signer{r.Releases}}, func(tx *metadata.Tx) error {
		return tx.AddTarget("example.com/org/app:1.0", blob("v1"))
	})
	if err != nil || res.Published {
		t.Fatalf("%v %+v", err, res)
	}
	if !strings.Contains(waitingText(res), "snapshot version 3: signatures from 0 of the 1 unique keys") {
		t.Errorf("waiting = %q", res.Waiting)
	}
	up, err := r.Refresh(t)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.GetTargetInfo("example.com/org/app:1.0"); err == nil {
		t.Fatal("a staged target is visible to clients")
	}
	// A second staged change builds on the first.
	res, err = r.Repo.Update(ctx, metadata.UpdateOptions{Signers: []keys.Signer{r.Releases}}, func(tx *metadata.Tx) error {
		if _, ok, _ := tx.Target("example.com/org/app:1.0"); !ok {
			t.Error("the staged target is not in the working state")
		}
		return tx.AddTarget("example.com/org/app:2.0", blob("v2"))
	})
	if err != nil || res.Published || res.Versions["releases"] != 2 {
		t.Fatalf("second staged change: %v %+v (want releases version 2 still)", err, res)
	}
	st, err := r.Repo.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var staged []string
	for _, rs := range st.Roles {
		if rs.Staged && rs.Targets != nil {
			staged = append(staged, fmt.Sprintf("%s@%d targets=%d", rs.Role, rs.Version, *rs.Targets))
		} else if rs.Staged {
			staged = append(staged, fmt.Sprintf("%s@%d signed=%d", rs.Role, rs.Version, rs.ValidKeys))
		}
	}
	if strings.Join(staged, ",") != "releases@2 targets=2,snapshot@3 signed=0" {
		t.Errorf("staged roles in status: %v", staged)
	}
	res, err = r.Repo.Refresh(ctx, metadata.RefreshOptions{Snapshot: r.Snapshot, Timestamp: r.Timestamp})
	if err != nil || !res.Published {
		t.Fatalf("%v %+v", err, res)
	}
	up, err = r.Refresh(t)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"example.com/org/app:1.0", "example.com/org/app:2.0"} {
		if _, err := up.GetTargetInfo(n); err != nil {
			t.Errorf("%s after publication: %v", n, err)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(r.Dir, "staged")); len(entries) != 0 {
		t.Errorf("staged/ not emptied: %v", entries)
	}
}

func TestTwoConcurrentWritersBothLand(t *testing.T) {
	r := testrepo.New(t, testrepo.WithDelegated("example.com/org/app"))
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			repo, err := metadata.Open(r.Dir) // a separate Repository each
			if err != nil {
				errs <- err
				return
			}
			_, err = repo.Update(ctx, metadata.UpdateOptions{Signers: []keys.Signer{r.Releases}, Snapshot: r.Snapshot, Timestamp: r.Timestamp}, func(tx *metadata.Tx) error {
				return tx.AddTarget(fmt.Sprintf("example.com/org/app:%d", i), blob(fmt.Sprint(i)))
			})
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	checkAllLanded(t, r, n)
}

func checkAllLanded(t *testing.T, r *testrepo.Repo, n int) {
	t.Helper()
	up, err := r.Refresh(t)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := up.GetTargetInfo(fmt.Sprintf("example.com/org/app:%d", i)); err != nil {
			t.Errorf("writer %d's change was lost: %v", i, err)
		}
	}
}

// TestHelperWriterProcess is the body of a separate writer process.
func TestHelperWriterProcess(t *testing.T) {
	dir := os.Getenv("CNABSEC_TEST_WRITER_DIR")
	if dir == "" {
		t.Skip("only runs as a helper process")
	}
	load := func(name string) keys.Signer {
		k, err := keys.LoadPrivate(filepath.Join(os.Getenv("CNABSEC_TEST_WRITER_KEYS"), name+".key"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	repo, err := metadata.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range strings.Split(os.Getenv("CNABSEC_TEST_WRITER_IDS"), ",") {
		_, err = repo.Update(ctx, metadata.UpdateOptions{Signers: []keys.Signer{load("releases")}, Snapshot: load("snapshot"), Timestamp: load("timestamp")}, func(tx *metadata.Tx) error {
			return tx.AddTarget("example.com/org/app:"+i, blob(i))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestTwoWriterProcessesBothLand(t *testing.T) {
	r := testrepo.New(t, testrepo.WithDelegated("example.com/org/app"))
	var cmds []*exec.Cmd
	for _, ids := range []string{"0,2,4,6", "1,3,5,7"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriterProcess$")
		cmd.Env = append(os.Environ(), "CNABSEC_TEST_WRITER_DIR="+r.Dir, "CNABSEC_TEST_WRITER_KEYS="+r.KeyDir, "CNABSEC_TEST_WRITER_IDS="+ids)
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		t.Cleanup(func() {
			if t.Failed() {
				t.Log(out.String())
			}
		})
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("writer process: %v", err)
		}
	}
	checkAllLanded(t, r, 8)
}

func TestWriterKilledBetweenStepsLeavesAVerifiableRepository(t *testing.T) {
	for _, stop := range []string{"target-files", "releases", "targets", "snapshot"} {
		t.Run(stop, func(t *testing.T) {
			r := testrepo.New(t, testrepo.WithDelegated("example.com/org/app"))
			r.Update(t, []keys.Signer{r.Releases}, func(tx *metadata.Tx) error {
				return tx.AddTarget("example.com/org/app:0", blob("0"))
			})
			metadata.SetFailAfter(func(step string) error {
				if step == stop {
					return fmt.Errorf("killed after %s", step)
				}
				return nil
			})
			signers := []keys.Signer{r.Releases}
			_, err := r.Repo.Update(ctx, metadata.UpdateOptions{Signers: append(signers, r.Targets), Snapshot: r.Snapshot, Timestamp: r.Timestamp}, func(tx *metadata.Tx) error {
				if err := tx.Delegate("example.com/org/other"); err != nil {
					return err
				}
				if err := tx.AddTarget("example.com/org/app/in-toto-metadata/root.layout", blob("layout")); err != nil {
					return err
				}
				return tx.AddTarget("example.com/org/app:1", blob("1"))
			})
			metadata.SetFailAfter(nil)
			if err == nil || !strings.Contains(err.Error(), "killed after "+stop) {
				t.Fatalf("err = %v", err)
			}
			up, err := r.Refresh(t)
			if err != nil {
				t.Fatalf("client after a writer died after %s: %v", stop, err)
			}
			if _, err := up.GetTargetInfo("example.com/org/app:0"); err != nil {
				t.Errorf("published target lost: %v", err)
			}
			// The next writer completes and the client sees everything.
			r.Update(t, []keys.Signer{r.Releases}, func(tx *metadata.Tx) error {
				return tx.AddTarget("example.com/org/app:2", blob("2"))
			})
			up, err = r.Refresh(t)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{"example.com/org/app:0", "example.com/org/app:2"} {
				if _, err := up.GetTargetInfo(n); err != nil {
					t.Errorf("%s: %v", n, err)
				}
			}
			// The killed transaction reported its error and is all or nothing.
			for _, n := range []string{"example.com/org/app:1", "example.com/org/app/in-toto-metadata/root.layout"} {
				if _, err := up.GetTargetInfo(n); err == nil {
					t.Errorf("%s from the killed transaction is half-applied", n)
				}
			}
		})
	}
}

func TestStatusReportsExpiringRoles(t *testing.T) {
	r := testrepo.New(t)
	st, err := r.Repo.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var got []string
	for _, rs := range st.Expiring(48*time.Hour, now) {
		got = append(got, rs.Role)
	}
	if strings.Join(got, ",") != "snapshot,timestamp" {
		t.Errorf("expiring within 48h: %v, want snapshot,timestamp", got)
	}
	if len(st.Expiring(time.Hour, now)) != 0 {
		t.Error("roles expiring within an hour of a fresh init")
	}
	for _, rs := range st.Roles {
		if !rs.ThresholdMet() || len(rs.Missing) != 0 || rs.Expires.Nanosecond() != 0 {
			t.Errorf("%+v", rs)
		}
	}
}

func TestDelegatingANameTwiceMakesNoNewVersion(t *testing.T) {
	r := testrepo.New(t, testrepo.WithDelegated("example.com/org/app"))
	res, err := r.Repo.Update(ctx, metadata.UpdateOptions{Signers: []keys.Signer{r.Targets}, Snapshot: r.Snapshot, Timestamp: r.Timestamp}, func(tx *metadata.Tx) error {
		if !tx.Delegates("example.com/org/app:1.0") || tx.Delegates("example.com/org/app/in-toto-metadata/root.layout") {
			t.Error("Delegates disagrees with the delegation paths")
		}
		return tx.Delegate("example.com/org/app")
	})
	if err != nil || len(res.Versions) != 0 {
		t.Fatalf("re-delegation: %v %+v", err, res)
	}
}

func TestOldMetadataVersionsArePrunedAndClientsStillVerify(t *testing.T) {
	r := testrepo.New(t, testrepo.WithDelegated("example.com/org/app"))
	for i := 0; i < 6; i++ {
		r.Update(t, []keys.Signer{r.Releases}, func(tx *metadata.Tx) error {
			return tx.AddTarget(fmt.Sprintf("example.com/org/app:%d", i), blob(fmt.Sprint(i)))
		})
	}
	entries, _ := os.ReadDir(filepath.Join(r.Dir, "metadata"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	// Snapshots 1..8 were published (init, delegate, 6 releases): 6, 7, 8
	// stay, and the releases versions they list (5, 6, 7); root 1 always.
	got := strings.Join(names, " ")
	want := "1.root.json 2.targets.json 5.releases.json 6.releases.json 6.snapshot.json 7.releases.json 7.snapshot.json 8.snapshot.json timestamp.json"
	if got != want {
		t.Errorf("metadata/ after pruning:\n got %s\nwant %s", got, want)
	}
	up, err := r.Refresh(t)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.GetTargetInfo("example.com/org/app:5"); err != nil {
		t.Fatal(err)
	}
}

func TestStagedMetadataPastItsExpiryIsNotPublished(t *testing.T) {
	r := testrepo.New(t, testrepo.WithDelegated("example.com/org/app"))
	res, err := r.Repo.Update(ctx, metadata.UpdateOptions{Signers: []keys.Signer{r.Releases}}, func(tx *metadata.Tx) error {
		return tx.AddTarget("example.com/org/app:1", blob("1"))
	})
	if err != nil || res.Published {
		t.Fatalf("%v %+v", err, res)
	}
	later := time.Now().Add(8 * 24 * time.Hour) // releases expire after a week
	r.Repo.SetClock(func() time.Time { return later })
	res, err = r.Repo.Refresh(ctx, metadata.RefreshOptions{Snapshot: r.Snapshot, Timestamp: r.Timestamp})
	if err != nil {
		t.Fatal(err)
	}
	if res.Published || !strings.Contains(waitingText(res), "releases version 2 expired at") {
		t.Fatalf("expired staged releases: %+v", res)
	}
	res, err = r.Repo.Refresh(ctx, metadata.RefreshOptions{Roles: []string{"releases"}, Signers: []keys.Signer{r.Releases}, Snapshot: r.Snapshot, Timestamp: r.Timestamp})
	if err != nil || !res.Published {
		t.Fatalf("re-signed releases: %v %+v", err, res)
	}
}

func TestRevokedTargetDisappearsForClients(t *testing.T) {
	r := testrepo.New(t, testrepo.WithDelegated("example.com/org/app"))
	r.Update(t, []keys.Signer{r.Releases}, func(tx *metadata.Tx) error {
		if err := tx.AddTarget("example.com/org/app:1", blob("1")); err != nil {
			return err
		}
		return tx.AddTarget("example.com/org/app:2", blob("2"))
	})
	r.Update(t, []keys.Signer{r.Releases}, func(tx *metadata.Tx) error { return tx.RemoveTarget("example.com/org/app:1") })
	_, err := r.Repo.Update(ctx, metadata.UpdateOptions{Signers: []keys.Signer{r.Releases}}, func(tx *metadata.Tx) error {
		return tx.RemoveTarget("example.com/org/app:9")
	})
	errtest.Want(t, err, fault.Input, `target "example.com/org/app:9": no role of the repository lists it`)
	up, err := r.Refresh(t)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.GetTargetInfo("example.com/org/app:1"); err == nil {
		t.Error("a revoked target is still served")
	}
	if _, err := up.GetTargetInfo("example.com/org/app:2"); err != nil {
		t.Errorf("the other target: %v", err)
	}
}

func TestGlobDelegationCoversOnlyItsNamespace(t *testing.T) {
	r := testrepo.New(t, testrepo.WithDelegated("example.com/org/*"))
	r.Update(t, []keys.Signer{r.Releases}, func(tx *metadata.Tx) error {
		for name, want := range map[string]string{
			"example.com/org/app:1":                                    "releases",
			"example.com/org/other@sha256:" + sum256(nil):              "releases",
			"example.com/org/app/in-toto-metadata/abc/s.12345678.link": "releases",
			"example.com/orgx/app:1":                                   "targets",
			"example.com/org/team/app:1":                               "targets", // globs match one path segment
			"example.com/org/app/in-toto-metadata/root.layout":         "targets",
		} {
			if got := tx.RoleFor(name); got != want {
				t.Errorf("RoleFor(%s) = %s, want %s", name, got, want)
			}
		}
		return tx.AddTarget("example.com/org/app:1", blob("1"))
	})
	for _, bad := range []string{"example.com/org/app:1.0", "example.com/org/app@sha256:00", "example.com/org/[", "../x"} {
		_, err := r.Repo.Update(ctx, metadata.UpdateOptions{Signers: []keys.Signer{r.Targets}}, func(tx *metadata.Tx) error { return tx.Delegate(bad) })
		errtest.Want(t, err, fault.Input, bad)
	}
}

func TestRefreshOfRootPublishesTheNextVersionClientsFollow(t *testing.T) {
	r := testrepo.New(t)
	res, err := r.Repo.Refresh(ctx, metadata.RefreshOptions{Roles: []string{"root", "targets"}, Signers: []keys.Signer{r.Root, r.Targets}, Snapshot: r.Snapshot, Timestamp: r.Timestamp})
	if err != nil || !res.Published || res.Versions["root"] != 2 || res.Versions["targets"] != 2 {
		t.Fatalf("%v %+v", err, res)
	}
	up, err := r.Refresh(t)
	if err != nil {
		t.Fatal(err)
	}
	if v := up.GetTrustedMetadataSet().Root.Signed.Version; v != 2 {
		t.Errorf("client root version %d", v)
	}
	_, err = r.Repo.Refresh(ctx, metadata.RefreshOptions{Roles: []string{"bogus"}, Snapshot: r.Snapshot, Timestamp: r.Timestamp})
	errtest.Want(t, err, fault.Input, `unknown role "bogus"`)
}

func TestWriterWaitingForTheLockGivesUpWithItsContext(t *testing.T) {
	r := testrepo.New(t, testrepo.WithDelegated("example.com/org/app"))
	holding, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := r.Repo.Update(ctx, metadata.UpdateOptions{Signers: []keys.Signer{r.Releases}}, func(tx *metadata.Tx) error {
			close(holding)
			<-release
			return tx.AddTarget("example.com/org/app:1", blob("1"))
		})
		done <- err
	}()
	<-holding
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := r.Repo.Refresh(short, metadata.RefreshOptions{Snapshot: r.Snapshot, Timestamp: r.Timestamp})
	errtest.Want(t, err, fault.Inconclusive, "waiting for the lock held by another writer")
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestNextWriterRemovesTempFilesOfAKilledWrite(t *testing.T) {
	r := testrepo.New(t, testrepo.WithDelegated("example.com/org/app"))
	stale := filepath.Join(r.Dir, "metadata", ".timestamp.json.tmp-123")
	if err := os.WriteFile(stale, []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.Update(t, []keys.Signer{r.Releases}, func(tx *metadata.Tx) error { return tx.AddTarget("example.com/org/app:1", blob("1")) })
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary file still there: %v", err)
	}
}

// waitingText is a staged result's reasons, one line each.
func waitingText(res *metadata.Result) string {
	lines := make([]string, len(res.Waiting))
	for i, p := range res.Waiting {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
