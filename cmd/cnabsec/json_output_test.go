package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// decodeOne decodes stdout as exactly one JSON document.
func decodeOne(t *testing.T, stdout string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON document:\n%s", stdout)
	}
}

// link run -o json: one JSON document on stdout, the step command's own
// stdout moved to stderr so that it cannot corrupt it.
func TestLinkRunJSONIsOneDocumentWithTheCommandsOutputOnStderr(t *testing.T) {
	k := genKeyFiles(t, "dev")
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("in.txt", []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "link", "run", "build", "--key", filepath.Join(k, "dev.key"), "-m", "in.txt", "-p", "in.txt",
		"-d", "links", "-o", "json", "--", "echo", "the command's output")
	var rep linkReport
	decodeOne(t, stdout, &rep)
	if code != 0 || rep.Step != "build" || !strings.HasPrefix(rep.Link, filepath.Join("links", "build.")) || rep.ReturnValue == nil || *rep.ReturnValue != 0 || len(rep.KeyID) != 64 {
		t.Fatalf("exit %d, report %+v, stderr %s", code, rep, stderr)
	}
	if !strings.Contains(stderr, "the command's output") {
		t.Errorf("the command's stdout did not reach stderr: %q", stderr)
	}
	code, stdout, _ = runCLI(t, "link", "start", "edit", "--key", filepath.Join(k, "dev.key"), "-m", "in.txt", "-d", "links", "-o", "json")
	rep = linkReport{}
	decodeOne(t, stdout, &rep)
	if code != 0 || rep.Step != "edit" || rep.ReturnValue != nil {
		t.Fatalf("start: exit %d, %+v", code, rep)
	}
	code, stdout, _ = runCLI(t, "link", "stop", "edit", "--key", filepath.Join(k, "dev.key"), "-p", "in.txt", "-d", "links", "-o", "json")
	rep = linkReport{}
	decodeOne(t, stdout, &rep)
	if code != 0 || rep.Step != "edit" || !strings.HasSuffix(rep.Link, ".link") {
		t.Fatalf("stop: exit %d, %+v", code, rep)
	}
}

// repo list's text output is one line per target: a target's custom object is
// printed compact, not as the multi-line JSON it is stored as.
func TestRepoListTextPrintsCustomOnOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"{\n  \"in-toto\": [\n    \"a/b\"\n  ]\n}": `{"in-toto":["a/b"]}`,
		"":     "-",
		"null": "-",
		"{":    "-",
	} {
		if got := oneLineJSON([]byte(in)); got != want {
			t.Errorf("oneLineJSON(%q) = %q, want %q", in, got, want)
		}
	}
}
