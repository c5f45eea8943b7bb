package fault

import "errors"

// Remedy names what would fix an error. Libraries attach one with
// WithRemedy, with the one subject it concerns (a file, host, role, directory
// or location); the cnabsec command words it. No library holds CLI wording.
type Remedy int

// The remedies. Their String forms are stable names for scripts and JSON.
const (
	NoRemedy                    Remedy = iota
	RemedyCanonicalize                 // subject: the bundle file, or ""
	RemedyReferenceSyntax              // a malformed image or bundle reference
	RemedyContentDigest                // an image of the bundle lacks contentDigest
	RemedyInsecureRegistry             // subject: the host refused for plain HTTP
	RemedyTrustRegistryCA              // the registry's TLS certificate is not trusted
	RemedyRetryOrRaiseTimeout          // a registry timed out
	RemedyRegistryLogin                // the registry refused access
	RemedyRetryLater                   // the registry rate-limited the client
	RemedySupportedExtension           // a bundle requires extensions the runtime lacks
	RemedyShowStaged                   // nothing is staged for the role to sign
	RemedyCheckMetadataLocation        // subject: a location that may not be a repository
	RemedyPinTrustRoot                 // no trusted root was given
	RemedyValidTrustRoot               // the trusted root is not root metadata
	RemedyCheckTargetName              // the target is not signed into the repository
	RemedyResignExpired                // subject: the role that expired
	RemedyRollback                     // a location serves older metadata than trusted
	RemedyWritableCache                // the metadata cache cannot be written
	RemedyResetCache                   // subject: the cache directory that is corrupt
	RemedyRestoreBackup                // repository metadata that does not verify
	RemedyOtherRepository              // a registry repository holds other metadata
	RemedyPublishNewest                // pushing would roll the registry's timestamp back
	RemedyRenameRole                   // a role name cannot be an OCI tag
	RemedyInspectStagingTxn            // an interrupted staging transaction
	RemedyAddSteps                     // a layout template without steps
	RemedySignWithEveryOwner           // a layout lacks an owner's signature
	RemedyStartLink                    // a link was finished without being started
	RemedyPublishLayout                // no root layout is published for a bundle
	RemedyTrustRootOrLevel0            // a level needing TUF without a trusted root
	RemedyInitReleases                 // subject: a repository without a releases role
	RemedyPushMetadata                 // subject: a registry repository without metadata
	RemedyCheckRepositoryDir           // subject: a directory that may not be a repository
	RemedyVerifyAsSigned               // subject: the form the version was signed in (thin, thick, image, bundle)
	remedyEnd
)

var remedyNames = [...]string{
	NoRemedy:                    "",
	RemedyCanonicalize:          "canonicalize",
	RemedyReferenceSyntax:       "reference-syntax",
	RemedyContentDigest:         "content-digest",
	RemedyInsecureRegistry:      "insecure-registry",
	RemedyTrustRegistryCA:       "trust-registry-ca",
	RemedyRetryOrRaiseTimeout:   "retry-or-raise-timeout",
	RemedyRegistryLogin:         "registry-login",
	RemedyRetryLater:            "retry-later",
	RemedySupportedExtension:    "supported-extension",
	RemedyShowStaged:            "show-staged",
	RemedyCheckMetadataLocation: "check-metadata-location",
	RemedyPinTrustRoot:          "pin-trust-root",
	RemedyValidTrustRoot:        "valid-trust-root",
	RemedyCheckTargetName:       "check-target-name",
	RemedyResignExpired:         "resign-expired",
	RemedyRollback:              "rollback",
	RemedyWritableCache:         "writable-cache",
	RemedyResetCache:            "reset-cache",
	RemedyRestoreBackup:         "restore-backup",
	RemedyOtherRepository:       "other-repository",
	RemedyPublishNewest:         "publish-newest",
	RemedyRenameRole:            "rename-role",
	RemedyInspectStagingTxn:     "inspect-staging-transaction",
	RemedyAddSteps:              "add-steps",
	RemedySignWithEveryOwner:    "sign-with-every-owner",
	RemedyStartLink:             "start-link",
	RemedyPublishLayout:         "publish-layout",
	RemedyTrustRootOrLevel0:     "trust-root-or-level-0",
	RemedyInitReleases:          "init-releases",
	RemedyPushMetadata:          "push-metadata",
	RemedyCheckRepositoryDir:    "check-repository-directory",
	RemedyVerifyAsSigned:        "verify-as-signed",
}

// String is the remedy's stable name ("" for NoRemedy).
func (r Remedy) String() string {
	if r < 0 || r >= remedyEnd {
		return "unknown"
	}
	return remedyNames[r]
}

// Remedies lists every remedy but NoRemedy, for callers that word them all.
func Remedies() []Remedy {
	out := make([]Remedy, 0, remedyEnd-1)
	for r := NoRemedy + 1; r < remedyEnd; r++ {
		out = append(out, r)
	}
	return out
}

// WithRemedy attaches remedy r concerning subject ("" when it concerns none)
// to err, keeping its kind (Input when it has none). A nil err stays nil.
func WithRemedy(err error, r Remedy, subject string) error {
	if err == nil {
		return nil
	}
	k := KindOf(err)
	if k == Unknown {
		k = Input
	}
	return &Error{Kind: k, Err: err, Remedy: r, Subject: subject}
}

// RemedyOf returns the first remedy in err's chain and its subject, or
// NoRemedy.
func RemedyOf(err error) (Remedy, string) {
	var e *Error
	for err != nil {
		if !errors.As(err, &e) {
			return NoRemedy, ""
		}
		if e.Remedy != NoRemedy {
			return e.Remedy, e.Subject
		}
		err = e.Err
	}
	return NoRemedy, ""
}
