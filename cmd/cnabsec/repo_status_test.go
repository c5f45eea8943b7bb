package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/testing/testrepo"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
)

// repo status lists each key's type and scheme; with --key it shows where
// the keys the operator names live (a file, a plugin), in text and JSON,
// and warns about a --key no role lists.
func TestRepoStatusShowsKeyTypesAndWhereTheGivenKeysLive(t *testing.T) {
	r := testrepo.New(t, testrepo.WithKeyType(keys.GenECDSAP256))
	rootRef := "plugin:test?file=" + r.KeyFile("root")
	parsed, err := keys.ParseRef(rootRef)
	if err != nil {
		t.Fatal(err)
	}
	shown := parsed.String() // percent-encoded, secrets redacted
	stray := genKeyFiles(t, "stray")
	args := []string{"repo", "status", r.Dir, "--key", rootRef, "--key", r.PubFile("releases"), "--key", stray + "/stray.pub"}
	code, out, errs := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("status: exit %d %s", code, errs)
	}
	lines := strings.Split(out, "\n")
	want := map[string]string{
		"root":     "ecdsa/ecdsa-sha2-nistp256  plugin " + shown,
		"releases": "ecdsa/ecdsa-sha2-nistp256  file " + r.PubFile("releases"),
		"targets":  "ecdsa/ecdsa-sha2-nistp256",
	}
	for i, l := range lines {
		role := strings.Fields(l + " x")[0]
		if w, ok := want[role]; ok && i+1 < len(lines) {
			if !strings.HasSuffix(lines[i+1], w) {
				t.Errorf("%s: key line %q does not end with %q", role, lines[i+1], w)
			}
			delete(want, role)
		}
	}
	if len(want) != 0 {
		t.Errorf("roles not shown: %v\n%s", want, out)
	}
	if !strings.Contains(errs, "stray.pub: key ") || !strings.Contains(errs, "is not a key of any role shown") {
		t.Errorf("no warning for a key of no role: %q", errs)
	}
	code, out, _ = runCLI(t, append(args, "-o", "json")...)
	var st metadata.Status
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("status -o json: exit %d\n%s", code, out)
	}
	for _, rs := range st.Roles {
		if len(rs.Keys) != len(rs.KeyIDs) || rs.Keys[0].KeyType != "ecdsa" || rs.Keys[0].Scheme != "ecdsa-sha2-nistp256" {
			t.Errorf("%s: keys %+v", rs.Role, rs.Keys)
		}
		if rs.Role == "root" && (rs.Keys[0].Location != keys.LocationPlugin || rs.Keys[0].Where != shown) {
			t.Errorf("root key: %+v", rs.Keys[0])
		}
		if rs.Role == "snapshot" && rs.Keys[0].Where != "" {
			t.Errorf("snapshot key placed though not given: %+v", rs.Keys[0])
		}
	}
}

func TestRepoStatusWithAKeyThatCannotBeReadExitsTwoNamingIt(t *testing.T) {
	r := testrepo.New(t)
	code, _, errs := runCLI(t, "repo", "status", r.Dir, "--key", "plugin:kms?key=x")
	if code != 2 || !strings.Contains(errs, "cnabsec-signer-kms is not on PATH") {
		t.Fatalf("exit %d %q", code, errs)
	}
	code, _, errs = runCLI(t, "repo", "status", r.Dir, "--key", "pkcs11:token=t;object=o?pin-value=4711")
	if code != 2 || strings.Contains(errs, "4711") || !strings.Contains(errs, "carries a PIN or secret") {
		t.Fatalf("exit %d %q", code, errs)
	}
}
