package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/cnabsec/cnabsec/internal/atomicfile"
	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
)

// handoffRelease is a signed release and the verify flags that reach it.
type handoffRelease struct {
	*scenario.Scenario
	flags []string
}

func newHandoffRelease(t *testing.T) *handoffRelease {
	t.Helper()
	reg := registrytest.New(t)
	s, err := scenario.Build(context.Background(), scenario.Options{Dir: t.TempDir(), Registry: reg.Host})
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	root := filepath.Join(t.TempDir(), "root.json")
	if err := atomicfile.WriteFile(root, s.TrustedRoot, 0o600); err != nil {
		t.Fatal(err)
	}
	return &handoffRelease{Scenario: s, flags: []string{"--trust-root", root, "--metadata", s.RepoDir}}
}

// pinnedMapping writes a relocation mapping sending each image to its own
// repository by digest (what verifies).
func (h *handoffRelease) pinnedMapping(t *testing.T) (string, []byte) {
	t.Helper()
	m := map[string]string{}
	for ref, digest := range map[string]string{h.InstallerRef: h.InstallerDigest, h.WebRef: h.WebDigest} {
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		m[ref] = r.Context().Name() + "@" + digest
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "mapping.json")
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, raw
}

func (h *handoffRelease) verify(t *testing.T, ref string, extra []string, script string) (int, string, string) {
	t.Helper()
	args := append([]string{"verify", ref}, h.flags...)
	args = append(append(args, extra...), "--", "sh", "-c", script)
	return runCLI(t, args...)
}

// TestHandOffGetsAPrivateCopyNotTheUsersMappingFile: the runtime was handed
// the user's own mapping path, so a file swapped after verification (here by
// the runtime's first command; any process that can write the user's file
// could) reached the runtime unchecked. It now reads a private copy (0600,
// in a 0700 directory, removed afterwards) of the bytes that verified.
func TestHandOffGetsAPrivateCopyNotTheUsersMappingFile(t *testing.T) {
	h := newHandoffRelease(t)
	mapping, verified := h.pinnedMapping(t)
	evil := `{"` + h.WebRef + `":"evil.example/web:latest"}`
	t.Setenv("EVIL", evil)
	t.Setenv("USER_MAPPING", mapping)
	script := `printf '%s' "$EVIL" > "$USER_MAPPING"
echo "mapping=$(cat "$CNABSEC_RELOCATION_MAPPING")"
echo "modes $(stat -c %a "$(dirname "$CNABSEC_RELOCATION_MAPPING")") $(stat -c %a "$CNABSEC_RELOCATION_MAPPING") $(stat -c %a "$CNABSEC_BUNDLE")"
echo "dir=$(dirname "$CNABSEC_RELOCATION_MAPPING")"`
	code, stdout, stderr := h.verify(t, h.BundleRef, []string{"--relocation-mapping", mapping}, script)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout, "evil.example") || !strings.Contains(stdout, "mapping="+string(verified)+"\n") {
		t.Fatalf("the runtime read other bytes than those verified:\n%s", stdout)
	}
	if !strings.Contains(stdout, "modes 700 600 600\n") {
		t.Fatalf("private copies' modes:\n%s", stdout)
	}
	_, dir, _ := strings.Cut(stdout, "dir=")
	if dir = strings.TrimSpace(dir); dir == "" || dir == filepath.Dir(mapping) {
		t.Fatalf("hand-off directory %q", dir)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("hand-off directory %s left behind: %v", dir, err)
	}
}

// TestInheritedCNABSEC_BUNDLEDoesNotReachTheRuntimeWithImage: with --image
// there is no bundle, and a CNABSEC_BUNDLE (or any CNABSEC_*) inherited from
// the caller's environment reached the runtime as if cnabsec had verified it.
// Every inherited CNABSEC_* variable is removed; an image run defines only
// CNABSEC_IMAGE_DIGEST.
func TestInheritedCNABSEC_BUNDLEDoesNotReachTheRuntimeWithImage(t *testing.T) {
	h := newHandoffRelease(t)
	t.Setenv("CNABSEC_BUNDLE", "/etc/passwd")
	t.Setenv("CNABSEC_BUNDLE_DIGEST", "sha256:stale")
	t.Setenv("CNABSEC_RELOCATION_MAPPING", "/etc/passwd")
	t.Setenv("CNABSEC_PASS", "secret")
	code, stdout, stderr := h.verify(t, h.WebRef, []string{"--image"},
		`env | grep '^CNABSEC_' | sort`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := "CNABSEC_IMAGE_DIGEST=" + h.WebDigest + "\n"; stdout != want {
		t.Fatalf("the runtime's CNABSEC_* variables:\n%s\nwant exactly %q", stdout, want)
	}
}

// TestHandOffCopiesAreRemovedWhenCnabsecIsTerminated: SIGTERM ended cnabsec
// at once (Go's default), leaving the private copies behind and the runtime
// running. cnabsec passes it on to the runtime, waits for it, removes the
// copies and exits 128+15.
func TestHandOffCopiesAreRemovedWhenCnabsecIsTerminated(t *testing.T) {
	h := newHandoffRelease(t)
	where := filepath.Join(t.TempDir(), "where")
	t.Setenv("WHERE", where)
	go func() {
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			if b, _ := os.ReadFile(where); strings.HasSuffix(string(b), "\n") {
				syscall.Kill(os.Getpid(), syscall.SIGTERM)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	code, _, stderr := h.verify(t, h.BundleRef, nil, `echo "$CNABSEC_BUNDLE" > "$WHERE.tmp"; mv "$WHERE.tmp" "$WHERE"; exec sleep 60`)
	if code != 128+int(syscall.SIGTERM) {
		t.Fatalf("exit %d, want %d: %s", code, 128+int(syscall.SIGTERM), stderr)
	}
	b, err := os.ReadFile(where)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(strings.TrimSpace(string(b)))
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("hand-off directory %s left behind: %v", dir, err)
	}
}

// TestHandOffCopyIsPrivateAndRemovedAfterwards: the runtime reads the bundle
// and the mapping from a directory this run created (0700, in $TMPDIR) that
// holds exactly the two verified copies (0600), never from the user's files,
// which it swaps here after verification; the directory is gone when the
// runtime fails, and also when it cannot be started at all.
func TestHandOffCopyIsPrivateAndRemovedAfterwards(t *testing.T) {
	h := newHandoffRelease(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	mapping, _ := h.pinnedMapping(t)
	userBundle := filepath.Join(t.TempDir(), "bundle.json")
	want := filepath.Join(t.TempDir(), "want.json")
	for _, p := range []string{userBundle, want} {
		if err := os.WriteFile(p, h.BundleJSON, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("USER_BUNDLE", userBundle)
	t.Setenv("WANT", want)
	script := `echo '{"evil":true}' > "$USER_BUNDLE"
d=$(dirname "$CNABSEC_BUNDLE")
test "$(dirname "$d")" = "$TMPDIR" && test "$d" = "$(dirname "$CNABSEC_RELOCATION_MAPPING")" && echo "in a directory of its own"
echo "modes $(stat -c %a "$d") $(stat -c %a "$CNABSEC_BUNDLE") $(stat -c %a "$CNABSEC_RELOCATION_MAPPING")"
echo "holds $(ls -A "$d" | tr '\n' ' ')"
cmp -s "$CNABSEC_BUNDLE" "$WANT" && echo "verified bytes"
exit 9`
	code, stdout, stderr := h.verify(t, h.BundleRef, []string{"--bundle", userBundle, "--relocation-mapping", mapping}, script)
	if code != 9 {
		t.Fatalf("exit %d, want the runtime's 9: %s", code, stderr)
	}
	for _, line := range []string{"in a directory of its own", "modes 700 600 600", "holds bundle.json relocation-mapping.json ", "verified bytes"} {
		if !strings.Contains(stdout, line+"\n") {
			t.Errorf("the runtime's view lacks %q:\n%s", line, stdout)
		}
	}
	leftBehind := func() []string {
		m, err := filepath.Glob(filepath.Join(tmp, "cnabsec-handoff-*"))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := leftBehind(); len(m) != 0 {
		t.Fatalf("after the runtime failed, left behind: %v", m)
	}
	args := append(append([]string{"verify", h.BundleRef}, h.flags...), "--relocation-mapping", mapping, "--", filepath.Join(tmp, "no-such-runtime"))
	code, _, stderr = runCLI(t, args...)
	if code != 2 || !strings.Contains(stderr, "no-such-runtime") {
		t.Fatalf("a runtime that cannot start: exit %d: %s", code, stderr)
	}
	if m := leftBehind(); len(m) != 0 {
		t.Fatalf("after the runtime could not start, left behind: %v", m)
	}
}

// TestRelocationMappingWithKitIsAUsageErrorNotIgnored: a kit's verification
// dropped --relocation-mapping without a word (VERIFIED, and the runtime ran
// without the mapping the caller asked to have checked). It is a usage error
// (exit 2) and the runtime never runs.
func TestRelocationMappingWithKitIsAUsageErrorNotIgnored(t *testing.T) {
	h := newHandoffRelease(t)
	kit := filepath.Join(t.TempDir(), "kit")
	if code, _, stderr := runCLI(t, append(append([]string{"export", h.BundleRef}, h.flags...), "--out", kit)...); code != 0 {
		t.Fatalf("export: exit %d: %s", code, stderr)
	}
	mapping, _ := h.pinnedMapping(t)
	code, stdout, stderr := runCLI(t, "verify", h.BundleRef, "--kit", kit, "--trust-root", h.flags[1],
		"--relocation-mapping", mapping, "--", "sh", "-c", `echo "HANDOFF-RAN mapping=[$CNABSEC_RELOCATION_MAPPING]"`)
	if code != 2 || !strings.Contains(stderr, "--relocation-mapping does not apply to --kit") || strings.Contains(stdout, "HANDOFF-RAN") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}
