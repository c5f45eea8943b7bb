package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
)

// repo status ends with the delegation tree: targets, releases under it and
// the hash bins under releases, on one line in text (count, threshold,
// earliest expiry, targets) and one by one in JSON.
func TestRepoStatusShowsTheDelegationTreeWithHashBins(t *testing.T) {
	r := testrepo.New(t, testrepo.WithBins(8))
	code, out, errs := runCLI(t, "repo", "status", r.Dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	_, tree, ok := strings.Cut(out, "delegations:\n")
	if !ok {
		t.Fatalf("no delegation tree:\n%s", out)
	}
	lines := strings.Split(strings.TrimSuffix(tree, "\n"), "\n")
	want := []string{
		"  targets  published version 1  threshold 1  expires ",
		"  └─ releases  published version 1  threshold 1  expires ",
		"     └─ releases-bin-0 … releases-bin-7  8 hash bins  threshold 1  earliest expiry ",
	}
	if len(lines) != len(want) {
		t.Fatalf("tree:\n%s", tree)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d %q, want prefix %q", i, lines[i], w)
		}
	}
	if !strings.HasSuffix(lines[2], "targets 0") {
		t.Errorf("bins line %q does not count targets", lines[2])
	}
	code, out, _ = runCLI(t, "repo", "status", r.Dir, "-o", "json")
	var st struct {
		Roles       []json.RawMessage `json:"roles"`
		Delegations *delegationNode   `json:"delegations"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || len(st.Roles) == 0 {
		t.Fatalf("-o json: exit %d\n%s", code, out)
	}
	d := st.Delegations
	if d == nil || d.Role != "targets" || len(d.Delegations) != 1 || d.Delegations[0].Role != "releases" {
		t.Fatalf("delegations %+v", d)
	}
	bins := d.Delegations[0].Delegations
	if len(bins) != 8 || bins[0].Role != "releases-bin-0" || bins[7].Threshold != 1 || bins[7].Expires.IsZero() || bins[7].Targets == nil {
		t.Fatalf("bins %+v", bins)
	}
}
