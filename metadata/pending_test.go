package metadata_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cnabsec/cnabsec/metadata"
)

// A staged result's reasons are data in JSON: a script reads the role and the
// counts, and a person the message; they read back as they were written.
func TestPendingJSONCarriesTheFieldsAndTheMessage(t *testing.T) {
	in := metadata.Result{Versions: map[string]int64{"root": 2}, Waiting: []metadata.Pending{
		{Reason: metadata.PendingSignatures, Role: "root", Version: 2, ValidKeys: 1, Threshold: 2, PreviousRoot: 1},
		{Reason: metadata.PendingExpired, Role: "releases", Version: 4, Expired: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
	}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"published":false,"versions":{"root":2},"waiting":[` +
		`{"reason":"signatures","role":"root","version":2,"valid_keys":1,"threshold":2,"previous_root":1,"message":"root version 2: signatures from 1 of the 2 unique keys of root version 1 its threshold needs"},` +
		`{"reason":"expired","role":"releases","version":4,"expired":"2026-01-02T03:04:05Z","message":"releases version 4 expired at 2026-01-02T03:04:05Z while staged"}]}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	var out metadata.Result
	if err := json.Unmarshal(b, &out); err != nil || len(out.Waiting) != 2 || out.Waiting[0] != in.Waiting[0] || !out.Waiting[1].Expired.Equal(in.Waiting[1].Expired) {
		t.Errorf("read back %+v, %v", out, err)
	}
}
