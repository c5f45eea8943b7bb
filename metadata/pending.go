package metadata

import (
	"encoding/json"
	"fmt"
	"time"
)

// PendingReason says why a role holds a change in staged/.
type PendingReason string

// The reasons a change is staged rather than published.
const (
	// PendingSignatures: the role has fewer valid signatures from unique
	// keys than its threshold.
	PendingSignatures PendingReason = "signatures"
	// PendingExpired: the staged role expired while it waited.
	PendingExpired PendingReason = "expired"
	// PendingUnverified: a published role no longer verifies under the
	// staged root (it must be re-signed).
	PendingUnverified PendingReason = "unverified"
)

// Pending is one reason a change is staged instead of published. Its String
// (the "message" of its JSON form) describes it; what to run about it is the
// caller's to say.
type Pending struct {
	Reason  PendingReason `json:"reason"`
	Role    string        `json:"role"`
	Version int64         `json:"version"`
	// ValidKeys and Threshold count unique keys (PendingSignatures).
	ValidKeys int `json:"valid_keys,omitempty"`
	Threshold int `json:"threshold,omitempty"`
	// NewRootKeys: the keys counted are the staged root's own;
	// PreviousRoot: they are those of that earlier root version (a rotation
	// needs both).
	NewRootKeys  bool  `json:"new_root_keys,omitempty"`
	PreviousRoot int64 `json:"previous_root,omitempty"`
	// Expired is when the staged role expired (PendingExpired).
	Expired time.Time `json:"expired,omitzero"`
	// UnderRoot and Detail say which root the role fails under and why
	// (PendingUnverified).
	UnderRoot int64  `json:"under_root,omitempty"`
	Detail    string `json:"detail,omitempty"`
}

func (p Pending) String() string {
	switch p.Reason {
	case PendingExpired:
		return fmt.Sprintf("%s version %d expired at %s while staged", p.Role, p.Version, p.Expired.Format(time.RFC3339))
	case PendingUnverified:
		return fmt.Sprintf("%s version %d does not verify under root version %d: %s", p.Role, p.Version, p.UnderRoot, p.Detail)
	}
	whose := "unique keys"
	switch {
	case p.PreviousRoot > 0:
		whose = fmt.Sprintf("unique keys of root version %d", p.PreviousRoot)
	case p.NewRootKeys:
		whose = "unique new root keys"
	}
	return fmt.Sprintf("%s version %d: signatures from %d of the %d %s its threshold needs", p.Role, p.Version, p.ValidKeys, p.Threshold, whose)
}

// MarshalJSON writes the fields and, as "message", what String says.
func (p Pending) MarshalJSON() ([]byte, error) {
	type fields Pending // without this method
	return json.Marshal(struct {
		fields
		Message string `json:"message"`
	}{fields(p), p.String()})
}
