package main

import (
	"fmt"

	"github.com/cnabsec/cnabsec/internal/fault"
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
}

func fixed(words string) func(string) string { return func(string) string { return words } }

// hintFor is the hint printed under err: the command's own worded hint if it
// gave one, else the words of the remedy a library attached.
func hintFor(err error) string {
	if h := fault.HintOf(err); h != "" {
		return h
	}
	r, subject := fault.RemedyOf(err)
	if words, ok := remedyWords[r]; ok {
		return words(subject)
	}
	return ""
}

// pendingLine words why a change is staged and the command that moves it on.
func pendingLine(p metadata.Pending) string {
	switch {
	case p.Reason == metadata.PendingExpired:
		return fmt.Sprintf("%s (re-sign it: `repo refresh --role %s --key K`)", p, p.Role)
	case p.Reason == metadata.PendingUnverified:
		return fmt.Sprintf("%s (re-sign it with `repo refresh --role %s --key K`)", p, p.Role)
	case p.Role == metadata.RoleSnapshot || p.Role == metadata.RoleTimestamp:
		return fmt.Sprintf("%s (pass --%s-key, or `repo sign --role %s`)", p, p.Role, p.Role)
	}
	return fmt.Sprintf("%s (sign with `repo sign --role %s`)", p, p.Role)
}
