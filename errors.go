// Package cnabsec holds what every user of the cnabsec libraries shares: the
// classification of errors. Every error the packages verifier, signer,
// metadata, layouts and bundle return is one of three kinds:
//
//   - denied (ErrDenied): what was verified, the artifact or its metadata,
//     is wrong: a mismatch, a bad or missing signature, expired or
//     rolled-back metadata, a missing target, a policy not met;
//   - inconclusive (ErrInconclusive): remote data could not be obtained
//     (network, timeouts, HTTP 5xx); trying again may succeed;
//   - bad input (ErrInput): a usage error, or a local file the caller passed
//     is unreadable or malformed.
//
// Test a kind with errors.Is(err, cnabsec.ErrDenied), or take the deciding
// classification with KindOf (the outermost one: a signer refusing its own
// input wraps a "denied" check of that input as bad input). errors.As with
// *Error gives the same outermost classification. Where a library knows what
// would fix an error it attaches a Remedy (RemedyOf): a stable name with the
// subject it concerns, which the cnabsec command words as its "hint:" line.
// The cnabsec command maps the kinds to its exit codes 1, 3 and 2.
package cnabsec

import "github.com/cnabsec/cnabsec/internal/fault"

// Kind is the class of a failure: Denied, Inconclusive or Input.
type Kind = fault.Kind

// The kinds. Unknown is an error no cnabsec package classified.
const (
	Unknown      = fault.Unknown
	Denied       = fault.Denied
	Inconclusive = fault.Inconclusive
	Input        = fault.Input
)

// Error is a classified error: its Kind, the underlying error and, where the
// library knows one, a Hint saying what would fix it.
type Error = fault.Error

// Sentinels for errors.Is.
var (
	// ErrDenied matches an error whose subject failed a security check.
	ErrDenied = fault.ErrDenied
	// ErrInconclusive matches an error caused by remote data that could not be obtained.
	ErrInconclusive = fault.ErrInconclusive
	// ErrInput matches a usage error or a malformed local input.
	ErrInput = fault.ErrInput
)

// KindOf returns the deciding (outermost) classification of err, or Unknown.
func KindOf(err error) Kind { return fault.KindOf(err) }

// Remedy names what would fix an error (RemedyRegistryLogin, RemedyResetCache,
// ...); its String is a stable name for scripts. The constants are those of
// this package's Remedy* list below.
type Remedy = fault.Remedy

// RemedyOf returns the first remedy in err's chain and the subject it
// concerns (a file, host, role, directory or location; "" when none), or
// NoRemedy.
func RemedyOf(err error) (Remedy, string) { return fault.RemedyOf(err) }

// The remedies libraries attach; docs/design.md ("Errors") says what each
// means and which subject it carries.
const (
	NoRemedy                    = fault.NoRemedy
	RemedyCanonicalize          = fault.RemedyCanonicalize
	RemedyReferenceSyntax       = fault.RemedyReferenceSyntax
	RemedyContentDigest         = fault.RemedyContentDigest
	RemedyInsecureRegistry      = fault.RemedyInsecureRegistry
	RemedyTrustRegistryCA       = fault.RemedyTrustRegistryCA
	RemedyRetryOrRaiseTimeout   = fault.RemedyRetryOrRaiseTimeout
	RemedyRegistryLogin         = fault.RemedyRegistryLogin
	RemedyRetryLater            = fault.RemedyRetryLater
	RemedySupportedExtension    = fault.RemedySupportedExtension
	RemedyShowStaged            = fault.RemedyShowStaged
	RemedyCheckMetadataLocation = fault.RemedyCheckMetadataLocation
	RemedyPinTrustRoot          = fault.RemedyPinTrustRoot
	RemedyValidTrustRoot        = fault.RemedyValidTrustRoot
	RemedyCheckTargetName       = fault.RemedyCheckTargetName
	RemedyResignExpired         = fault.RemedyResignExpired
	RemedyRollback              = fault.RemedyRollback
	RemedyWritableCache         = fault.RemedyWritableCache
	RemedyResetCache            = fault.RemedyResetCache
	RemedyRestoreBackup         = fault.RemedyRestoreBackup
	RemedyOtherRepository       = fault.RemedyOtherRepository
	RemedyPublishNewest         = fault.RemedyPublishNewest
	RemedyRenameRole            = fault.RemedyRenameRole
	RemedyInspectStagingTxn     = fault.RemedyInspectStagingTxn
	RemedyAddSteps              = fault.RemedyAddSteps
	RemedySignWithEveryOwner    = fault.RemedySignWithEveryOwner
	RemedyStartLink             = fault.RemedyStartLink
	RemedyPublishLayout         = fault.RemedyPublishLayout
	RemedyTrustRootOrLevel0     = fault.RemedyTrustRootOrLevel0
	RemedyInitReleases          = fault.RemedyInitReleases
	RemedyPushMetadata          = fault.RemedyPushMetadata
	RemedyCheckRepositoryDir    = fault.RemedyCheckRepositoryDir
	RemedyVerifyAsSigned        = fault.RemedyVerifyAsSigned
)
