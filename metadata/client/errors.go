package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// go-tuf v2.4.2 error messages this package turns into explanations. They
// are matched on the message text (the types carry no fields); a message
// that stops matching still yields a Denied error with go-tuf's text.
var (
	reRootVersion       = regexp.MustCompile(`^bad version number, expected (\d+), got (\d+)$`)
	reTimestampRollback = regexp.MustCompile(`^new timestamp version (\d+) must be >= (\d+)$`)
	reSnapshotRollback  = regexp.MustCompile(`^new snapshot version (\d+) must be >= (\d+)$`)
	// UpdateSnapshot ("expected NAME version NEW, got OLD": the arguments
	// are swapped in go-tuf) and UpdateDelegatedTargets ("expected ROLE
	// version LISTED, got SIGNED") share this shape.
	reExpectedRoleVersion = regexp.MustCompile(`^expected (\S+) version (\d+), got (\d+)$`)
	reSnapshotMismatch    = regexp.MustCompile(`^expected (\d+), got (\d+)$`)
	reUnsigned            = regexp.MustCompile(`^Verifying (\S+) failed, not enough signatures, got (\d+), want (\d+)$`)
	reExpiredDelegated    = regexp.MustCompile(`^new (\S+) is expired$`)
	reThreshold           = regexp.MustCompile(`^insufficient threshold \((-?\d+)\) configured for (\S+)$`)
	reRepeatedSig         = regexp.MustCompile(`^multiple signatures found for key ID (\S+)$`)
	reTargetNotFound      = regexp.MustCompile(`^target (.*) not found$`)
	reRoleNotInSnapshot   = regexp.MustCompile(`^role (\S+) not found in snapshot$`)
	reSnapshotDropsRole   = regexp.MustCompile(`^new snapshot is missing info for (\S+)\.json$`)
)

// tufError classifies an error returned by go-tuf's updater: errors from
// this package's fetcher keep their kind; everything about the metadata
// itself is Denied, with the role and the reason spelled out.
func (c *Client) tufError(err error) error {
	if err == nil || fault.KindOf(err) != fault.Unknown {
		return err
	}
	last := c.adapter.last
	file := "metadata/" + last.name
	tm := c.up.GetTrustedMetadataSet()

	var (
		badVersion *metadata.ErrBadVersionNumber
		expired    *metadata.ErrExpiredMetadata
		unsigned   *metadata.ErrUnsignedMetadata
		mismatch   *metadata.ErrLengthOrHashMismatch
		value      *metadata.ErrValue
		repo       *metadata.ErrRepository
		syntax     *json.SyntaxError
		typeErr    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &badVersion):
		return badVersionError(badVersion.Msg, file, last.role, err)
	case errors.As(err, &expired):
		return c.expiredError(expired.Msg, tm.Root, tm.Timestamp, tm.Snapshot)
	case errors.As(err, &unsigned):
		return c.unsignedError(unsigned.Msg, file)
	case errors.As(err, &mismatch):
		return mismatchError(mismatch.Msg, file, last.role)
	case errors.As(err, &value):
		return valueError(value.Msg, file)
	case errors.As(err, &repo):
		return repositoryError(repo.Msg, file)
	case errors.As(err, &syntax), errors.As(err, &typeErr):
		return fault.Deniedf("%s is not valid TUF metadata: %v", file, err)
	}
	return c.lookupError(err, file)
}

// mismatchError explains a file that does not match the length and hashes
// the role above it (snapshot, or timestamp for the snapshot) lists.
func mismatchError(msg, file, lastRole string) error {
	by := "snapshot"
	if lastRole == metadata.SNAPSHOT {
		by = "timestamp"
	}
	return fault.Deniedf("%s does not match the length and hashes %s lists for it (%s): tampered or mixed metadata", file, by, msg)
}

// repositoryError explains go-tuf's repository errors, naming a role a new
// snapshot dropped as a rollback.
func repositoryError(msg, file string) error {
	if m := reSnapshotDropsRole.FindStringSubmatch(msg); m != nil {
		return rollbackHint(fault.Deniedf("%s no longer lists role %s, which the trusted snapshot lists: rollback", file, m[1]))
	}
	return fault.Deniedf("%s: %s", file, msg)
}

// badVersionError explains go-tuf's version errors: a skipped root, a
// rolled-back timestamp, snapshot or role, metadata from another snapshot.
func badVersionError(msg, file, lastRole string, err error) error {
	if m := reRootVersion.FindStringSubmatch(msg); m != nil {
		return fault.Deniedf("%s is root version %s where version %s was expected: a root version may not be skipped or replayed", file, m[2], m[1])
	}
	if m := reTimestampRollback.FindStringSubmatch(msg); m != nil {
		return rollbackHint(fault.Deniedf("timestamp version %s is older than trusted version %s: rollback", m[1], m[2]))
	}
	if m := reSnapshotRollback.FindStringSubmatch(msg); m != nil {
		return rollbackHint(fault.Deniedf("timestamp lists snapshot version %s, older than trusted snapshot version %s: rollback", m[1], m[2]))
	}
	if m := reExpectedRoleVersion.FindStringSubmatch(msg); m != nil {
		if lastRole == metadata.SNAPSHOT {
			role := strings.TrimSuffix(m[1], ".json")
			return rollbackHint(fault.Deniedf("snapshot lists %s version %s, older than trusted version %s: rollback", role, m[2], m[3]))
		}
		return fault.Deniedf("%s has %s version %s but snapshot lists version %s: mix-and-match (metadata from another snapshot)", file, m[1], m[3], m[2])
	}
	if m := reSnapshotMismatch.FindStringSubmatch(msg); m != nil {
		return fault.Deniedf("%s has snapshot version %s but timestamp lists version %s: mix-and-match (metadata from another snapshot)", file, m[2], m[1])
	}
	return fault.Deniedf("%s: %v", file, err)
}

// valueError explains go-tuf's invalid-value errors.
func valueError(msg, file string) error {
	if m := reThreshold.FindStringSubmatch(msg); m != nil {
		return fault.Deniedf("role %s has threshold %s in its delegating metadata: a threshold must be at least 1", m[2], m[1])
	}
	if m := reRepeatedSig.FindStringSubmatch(msg); m != nil {
		return fault.Deniedf("%s carries more than one signature with key ID %s: repeated signature", file, m[1])
	}
	return fault.Deniedf("%s: invalid metadata: %s", file, msg)
}

// lookupError explains errors go-tuf returns as plain text: a target no
// role lists, a role the snapshot does not list.
func (c *Client) lookupError(err error, file string) error {
	if m := reTargetNotFound.FindStringSubmatch(err.Error()); m != nil {
		return fault.WithRemedy(fault.Wrap(fault.Denied, &targetNotFoundError{
			msg: fmt.Sprintf("target %q not found: no trusted role at %s lists it", m[1], c.location)}),
			fault.RemedyCheckTargetName, m[1])
	}
	if m := reRoleNotInSnapshot.FindStringSubmatch(err.Error()); m != nil {
		return fault.Deniedf("snapshot does not list role %s: metadata incomplete or mixed", m[1])
	}
	return fault.Deniedf("TUF metadata from %s (%s): %v", c.location, file, err)
}

func (c *Client) expiredError(msg string, root *metadata.Metadata[metadata.RootType],
	ts *metadata.Metadata[metadata.TimestampType], sn *metadata.Metadata[metadata.SnapshotType]) error {
	var (
		role    string
		version int64
		expires time.Time
	)
	switch {
	case msg == "final root.json is expired":
		role, version, expires = metadata.ROOT, root.Signed.Version, root.Signed.Expires
	case msg == "timestamp.json is expired" && ts != nil:
		role, version, expires = metadata.TIMESTAMP, ts.Signed.Version, ts.Signed.Expires
	case msg == "snapshot.json is expired" && sn != nil:
		role, version, expires = metadata.SNAPSHOT, sn.Signed.Version, sn.Signed.Expires
	default:
		m := reExpiredDelegated.FindStringSubmatch(msg)
		if m == nil {
			return fault.Deniedf("expired metadata: %s (reference time %s): freeze attack or stale repository", msg, c.now.Format(time.RFC3339))
		}
		role = m[1]
		if md, err := metadata.Targets().FromBytes(c.adapter.captured[c.adapter.last.name]); err == nil {
			version, expires = md.Signed.Version, md.Signed.Expires
		}
	}
	if expires.IsZero() {
		return fault.Deniedf("%s metadata expired (reference time %s): freeze attack or stale repository", role, c.now.Format(time.RFC3339))
	}
	return fault.WithRemedy(fault.Deniedf("%s version %d expired at %s (reference time %s): freeze attack or stale repository",
		role, version, expires.UTC().Format(time.RFC3339), c.now.Format(time.RFC3339)),
		fault.RemedyResignExpired, role)
}

// unsignedError explains a threshold failure. For a new root it tells
// whether the trusted root's keys or the new root's own keys fell short.
func (c *Client) unsignedError(msg, file string) error {
	m := reUnsigned.FindStringSubmatch(msg)
	if m == nil {
		return fault.Deniedf("%s: %s: threshold not met", file, msg)
	}
	role, got, want := m[1], m[2], m[3]
	if role == metadata.ROOT && c.adapter.last.role == metadata.ROOT {
		tm := c.up.GetTrustedMetadataSet()
		by := fmt.Sprintf("the keys of trusted root version %d", tm.Root.Signed.Version)
		if nr, err := metadata.Root().FromBytes(c.adapter.captured[c.adapter.last.name]); err == nil {
			if tm.Root.VerifyDelegate(metadata.ROOT, nr) == nil {
				by = fmt.Sprintf("its own keys (root version %d)", nr.Signed.Version)
			}
		}
		return fault.Deniedf("%s: %s of the %s required signatures by %s verify: threshold not met", file, got, want, by)
	}
	return fault.Deniedf("%s: role %s has %s of the %s required signatures from distinct trusted keys: threshold not met", file, role, got, want)
}

func rollbackHint(err error) error {
	return fault.WithRemedy(err, fault.RemedyRollback, "")
}

// ErrTargetNotFound is wrapped by the Denied error Target and Download
// return when no trusted role lists the name (missing evidence, as opposed
// to evidence against, such as a hash mismatch or an unauthorised role).
var ErrTargetNotFound = errors.New("target not found")

// targetNotFoundError keeps the full message and is ErrTargetNotFound.
type targetNotFoundError struct{ msg string }

func (e *targetNotFoundError) Error() string { return e.msg }
func (e *targetNotFoundError) Unwrap() error { return ErrTargetNotFound }
