package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
	"github.com/cnabsec/cnabsec/metadata"
)

// remedyWords words each remedy the libraries attach to their errors; subject
// is the file, host, role, directory or location the remedy concerns ("" when
// the library gave none). Every remedy has words (TestEveryRemedyIsWorded).
var remedyWords = map[fault.Remedy]func(subject string) string{
	fault.RemedyCanonicalize: func(s string) string {
		if s == "" {
			return "write the canonical form with `cnabsec bundle canonicalize FILE --out FILE`"
		}
		return fmt.Sprintf("write the canonical form with `cnabsec bundle canonicalize %s --out %s` and sign that", s, s)
	},
	fault.RemedyReferenceSyntax: fixed("write references as REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:HEX"),
	fault.RemedyContentDigest:   fixed("every image must carry its registry manifest digest in contentDigest before the bundle is pushed (CNAB 101)"),
	fault.RemedyInsecureRegistry: func(host string) string {
		return fmt.Sprintf("if %s is a registry you trust on this network, pass --insecure-registry %s", host, host)
	},
	fault.RemedyTrustRegistryCA:     fixed("install the registry's CA certificate, or pass --insecure-registry HOST for a test registry"),
	fault.RemedyRetryOrRaiseTimeout: fixed("retry, or raise --timeout"),
	fault.RemedyRegistryLogin:       fixed("log in to the registry (docker login) or check the credentials helper"),
	fault.RemedyRetryLater:          fixed("retry later, or log in to the registry (docker login) for a higher limit"),
	fault.RemedySupportedExtension:  fixed("a runtime must refuse bundles whose required extensions it does not implement; name the ones it does with --supported-extension NAME"),
	fault.RemedyShowStaged:          fixed("`cnabsec repo status` shows what is staged"),
	fault.RemedyCheckMetadataLocation: func(loc string) string {
		return "is " + loc + " a metadata repository (the directory or URL holding metadata/ and targets/)?"
	},
	fault.RemedyPinTrustRoot:    fixed("pass the repository's root.json obtained out of band with --trust-root"),
	fault.RemedyValidTrustRoot:  fixed("pass the repository's 1.root.json (or a later root obtained out of band)"),
	fault.RemedyCheckTargetName: fixed("check the reference (registry/repository:tag, as signed) and that this version was signed into the repository"),
	fault.RemedyResignExpired: func(role string) string {
		return "the repository must re-sign " + role + " (cnabsec repo refresh) and publish it; a mirror may be serving old copies"
	},
	fault.RemedyRollback: fixed("this location serves older metadata than was already trusted for this trust root " +
		"(a rollback, or a stale mirror); remove the cache directory only if the repository was deliberately reset"),
	fault.RemedyWritableCache: fixed("give a writable --cache directory"),
	fault.RemedyResetCache: func(dir string) string {
		return "the cache was modified or is corrupt; remove " + dir + " to start again from the trusted root"
	},
	fault.RemedyRestoreBackup:   fixed("restore the repository directory from a backup; cnabsec does not rewrite metadata it cannot verify"),
	fault.RemedyOtherRepository: fixed("push to a new repository, or check that the directory is the one published there"),
	fault.RemedyPublishNewest: fixed("publish from the directory that holds the newest metadata (cnabsec repo status), " +
		"or refresh the timestamp first (cnabsec repo refresh)"),
	fault.RemedyRenameRole:         fixed("rename the delegated role to use only letters, digits, '_', '.' and '-'"),
	fault.RemedyInspectStagingTxn:  fixed("inspect DIR/staged/.txn: its COMMIT lists the staged files of an interrupted writer"),
	fault.RemedyAddSteps:           fixed("add at least one step with its functionaries and expected products"),
	fault.RemedySignWithEveryOwner: fixed("sign the layout with every owner key (cnabsec layout create --key ... --key ...)"),
	fault.RemedyStartLink:          fixed("run `cnabsec link start` with the same step name, key and directory first"),
	fault.RemedyPublishLayout:      fixed("publish it first with `cnabsec layout publish` (offline targets key)"),
	fault.RemedyTrustRootOrLevel0:  fixed("pass --trust-root ROOT.json and --metadata LOCATION, or require --level 0"),
	fault.RemedyInitReleases:       fixed("create the releases role with `cnabsec repo init --releases-key`"),
	fault.RemedyPushMetadata:       fixed("push the metadata there with `cnabsec repo push`"),
	fault.RemedyCheckRepositoryDir: fixed("is it a repository made by `cnabsec repo init` (a directory holding metadata/)?"),
	fault.RemedyVerifyAsSigned:     verifyAsSigned,
}

func fixed(words string) func(string) string { return func(string) string { return words } }

// hintFor is the hint printed under err: the command's own worded hint if it
// gave one, else the words of the remedy a library attached.
func hintFor(err error) string {
	if h := fault.HintOf(err); h != "" {
		return h
	}
	if errors.Is(err, keys.ErrPassphrase) {
		return "give the key's passphrase in the variable --passphrase-env names (or type it on a terminal)"
	}
	r, subject := fault.RemedyOf(err)
	if words, ok := remedyWords[r]; ok {
		return words(subject)
	}
	return ""
}

// pendingLine words why a change is staged and the command that moves it on
// (dir is the repository directory).
func pendingLine(p metadata.Pending, dir string) string {
	return p.String() + ": " + pendingCommand(p, dir)
}

// pendingCommand is the command that resolves p in the repository dir.
func pendingCommand(p metadata.Pending, dir string) string {
	const online = " --snapshot-key SNAPSHOT_KEY --timestamp-key TIMESTAMP_KEY"
	switch {
	case p.Reason == metadata.PendingExpired || p.Reason == metadata.PendingUnverified:
		return fmt.Sprintf("re-sign it: cnabsec repo refresh %s --role %s --key %s_KEY%s", dir, p.Role, strings.ToUpper(p.Role), online)
	case p.Role == metadata.RoleSnapshot:
		return fmt.Sprintf("publish it: cnabsec repo sign %s --role snapshot --key SNAPSHOT_KEY --timestamp-key TIMESTAMP_KEY", dir)
	case p.Role == metadata.RoleTimestamp:
		return fmt.Sprintf("publish it: cnabsec repo sign %s --role timestamp --key TIMESTAMP_KEY", dir)
	}
	return fmt.Sprintf("sign it: cnabsec repo sign %s --role %s --key %s_KEY%s", dir, p.Role, strings.ToUpper(p.Role), online)
}

// verifyAsSigned says how to verify a version in the form it was signed in.
func verifyAsSigned(form string) string {
	switch form {
	case "thin":
		return "verify it without --thick (the registry's bundle.json, or --bundle FILE for a local copy)"
	case "thick":
		return "verify it with --thick FILE (`cnabsec bundle pull REF --thick --out FILE` writes one)"
	case "image":
		return "verify it with --image"
	case "bundle":
		return "verify it without --image"
	}
	return "verify it in the form it was signed in"
}
