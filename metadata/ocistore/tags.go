package ocistore

import (
	"fmt"
	"strings"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// Tag prefixes. A metadata tag always ends in ".json" and a target tag never
// does, so the two families cannot collide.
const (
	tagPrefix       = "tuf-"
	targetTagPrefix = "tuf-target-"
	// maxTagLen is the OCI distribution limit on tag length.
	maxTagLen = 128
)

// TagForMetadata maps a metadata file name ("3.root.json", "timestamp.json",
// "2.releases-bin-0a.json") to its tag, "tuf-" + name. The mapping is
// injective and MetadataForTag reverses it. Names that cannot be a tag are
// refused: only letters, digits, '_', '.' and '-', ending in ".json", at most
// 124 bytes (a tag holds 128).
func TagForMetadata(file string) (string, error) {
	if !strings.HasSuffix(file, ".json") || len(file) == len(".json") {
		return "", fault.Inputf("metadata file %q: not a TUF metadata file name (want N.ROLE.json or timestamp.json)", file)
	}
	if i := strings.IndexFunc(file, func(r rune) bool { return !tagChar(r) }); i >= 0 {
		return "", fault.WithRemedy(fault.Inputf("metadata file %q: character %q cannot appear in an OCI tag (allowed: letters, digits, '_', '.', '-'), so this role cannot be stored in a registry", file, string([]rune(file[i:])[0])),
			fault.RemedyRenameRole, file)
	}
	if len(tagPrefix)+len(file) > maxTagLen {
		return "", fault.Inputf("metadata file %.40q...: %d bytes, longer than the %d an OCI tag allows after the %q prefix", file, len(file), maxTagLen-len(tagPrefix), tagPrefix)
	}
	return tagPrefix + file, nil
}

// MetadataForTag reverses TagForMetadata; it fails for any tag
// TagForMetadata cannot produce.
func MetadataForTag(tag string) (string, error) {
	file, ok := strings.CutPrefix(tag, tagPrefix)
	if !ok {
		return "", fmt.Errorf("tag %q: not a metadata tag (no %q prefix)", tag, tagPrefix)
	}
	back, err := TagForMetadata(file)
	if err != nil || back != tag {
		return "", fmt.Errorf("tag %q: not a metadata tag", tag)
	}
	return file, nil
}

// TagForTarget is the tag of the manifest that keeps the target blob
// sha256:<hex> reachable: "tuf-target-<hex>". hex must be 64 lowercase hex
// digits.
func TagForTarget(sha256Hex string) (string, error) {
	if !isHex(sha256Hex, 64) {
		return "", fault.Inputf("target digest %q: want 64 lowercase hex digits", sha256Hex)
	}
	return targetTagPrefix + sha256Hex, nil
}

// TargetForTag reverses TagForTarget, returning the sha256 hex.
func TargetForTag(tag string) (string, bool) {
	h, ok := strings.CutPrefix(tag, targetTagPrefix)
	if !ok || !isHex(h, 64) {
		return "", false
	}
	return h, true
}

func tagChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-'
}

// isHex reports whether s is exactly n lowercase hex digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// targetBlobHex returns the sha256 hex a target file path addresses:
// "targets/[DIR/]<64 hex>.<base>". ok is false for any other path (e.g. a
// sha512-named copy, which this store does not keep).
func targetBlobHex(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "targets/")
	if !ok {
		return "", false
	}
	base := rest[strings.LastIndexByte(rest, '/')+1:]
	h, b, ok := strings.Cut(base, ".")
	if !ok || b == "" || !isHex(h, 64) {
		return "", false
	}
	return h, true
}
