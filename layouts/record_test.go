package layouts

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/in-toto/in-toto-golang/in_toto"

	"github.com/cnabsec/cnabsec/keys"
)

func TestRecordingRefusesDotDotAndAbsoluteArtifactPaths(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "dir"), 0o755)
	os.WriteFile(filepath.Join(dir, "file"), []byte("x"), 0o644)
	k := genKey(t, keys.GenEd25519)
	for p, want := range map[string]string{
		"dir/../file": "'..' is refused",
		"../outside":  "'..' is refused",
		"/etc/passwd": "absolute paths are refused",
	} {
		_, _, err := RunStep(context.Background(), StepOptions{Name: "s", Key: k, Dir: dir, Materials: []string{p}})
		wantInput(t, err, want)
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: the error should name the path: %v", p, err)
		}
	}
	// A leading ./ is only a spelling of the same name.
	mb, _, err := RunStep(context.Background(), StepOptions{Name: "s", Key: k, Dir: dir, Materials: []string{"./file"}, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := mb.Signed.(in_toto.Link).Materials["file"]; !ok {
		t.Fatalf("materials %v, want \"file\"", mb.Signed.(in_toto.Link).Materials)
	}
}

func TestRunStepRecordsFailingCommandsExitCodeAndOutput(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	k := genKey(t, keys.GenEd25519)
	var tee strings.Builder
	mb, written, err := RunStep(context.Background(), StepOptions{Name: "build", Key: k, Dir: dir, OutDir: out,
		Products: []string{"."}, Command: []string{"sh", "-c", "echo made > out.txt; echo hi; exit 4"}, Stdout: &tee})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(written) != "build."+k.Public().ID()[:8]+".link" {
		t.Fatalf("wrote %s", written)
	}
	l := mb.Signed.(in_toto.Link)
	if l.ByProducts["return-value"] != 4 || l.ByProducts["stdout"] != "hi\n" || tee.String() != "hi\n" {
		t.Fatalf("byproducts %v, tee %q", l.ByProducts, tee.String())
	}
	if l.Products["out.txt"]["sha256"] != sha256Hex([]byte("made\n")) {
		t.Fatalf("products %v", l.Products)
	}
	// The written file parses back and in-toto-golang accepts its signature.
	md, err := in_toto.LoadMetadata(written)
	if err != nil {
		t.Fatal(err)
	}
	if err := md.VerifySignature(k.Public().InTotoKey()); err != nil {
		t.Fatalf("in-toto-golang rejects our link signature: %v", err)
	}
	_, _, err = RunStep(context.Background(), StepOptions{Name: "build", Key: k, Dir: dir, OutDir: out, Command: []string{"/nonexistent/tool"}})
	wantInput(t, err, "could not run")
}

func TestRunStepExcludePatternsAreGitignoreStyle(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.go", "build.log", "sub/b.log", "sub/c.go", ".git/HEAD"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644)
	}
	mb, _, err := RunStep(context.Background(), StepOptions{Name: "s", Key: genKey(t, keys.GenEd25519), Dir: dir, OutDir: t.TempDir(),
		Materials: []string{"."}, Exclude: []string{"*.log", ".git"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for n := range mb.Signed.(in_toto.Link).Materials {
		got = append(got, n)
	}
	if strings.Join(slices.Sorted(slices.Values(got)), ",") != "a.go,sub/c.go" {
		t.Fatalf("materials %v, want a.go and sub/c.go", got)
	}
}

func TestStopStepRefusesUnfinishedLinkOfAnotherKey(t *testing.T) {
	dir := t.TempDir()
	a, b := genKey(t, keys.GenEd25519), genKey(t, keys.GenEd25519)
	_, prelim, err := StartStep(context.Background(), StepOptions{Name: "s", Key: a, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(prelim) != ".s."+a.Public().ID()[:8]+".link-unfinished" {
		t.Fatalf("unfinished link %s", prelim)
	}
	// Key b's unfinished name differs; put a's file under b's name.
	data, _ := os.ReadFile(prelim)
	os.WriteFile(filepath.Join(dir, ".s."+b.Public().ID()[:8]+".link-unfinished"), data, 0o644)
	_, _, err = StopStep(context.Background(), StepOptions{Name: "s", Key: b, Dir: dir})
	wantInput(t, err, "no signature by key "+b.Public().ID())
	_, _, err = StopStep(context.Background(), StepOptions{Name: "other", Key: a, Dir: dir})
	wantInput(t, err, "unfinished link")
	if _, _, err := StopStep(context.Background(), StepOptions{Name: "s", Key: a, Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(prelim); !os.IsNotExist(err) {
		t.Fatal("the unfinished link was not removed")
	}
}
