package ocistore

import (
	"sort"
	"strconv"
	"strings"
)

// splitMetadataName splits "N.ROLE.json" into (N, ROLE); timestamp.json
// gives (0, "timestamp").
func splitMetadataName(file string) (int64, string) {
	base := strings.TrimSuffix(file, ".json")
	if v, role, ok := strings.Cut(base, "."); ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			return n, role
		}
	}
	return 0, base
}

// pushRank orders metadata files so that nothing published refers to a file
// not yet in the registry: delegated roles, then targets, root, snapshot and
// timestamp last.
func pushRank(role string) int {
	switch role {
	case "targets":
		return 1
	case "root":
		return 2
	case "snapshot":
		return 3
	case "timestamp":
		return 4
	}
	return 0
}

// sortForPush sorts metadata file names into push order (by rank, then
// version, then name).
func sortForPush(files []string) {
	sort.Slice(files, func(i, j int) bool {
		vi, ri := splitMetadataName(files[i])
		vj, rj := splitMetadataName(files[j])
		if a, b := pushRank(ri), pushRank(rj); a != b {
			return a < b
		}
		if vi != vj {
			return vi < vj
		}
		return files[i] < files[j]
	})
}

// newestRoot is the N.root.json with the highest N among files, or "".
func newestRoot(files []string) string {
	best, bestV := "", int64(0)
	for _, f := range files {
		if v, role := splitMetadataName(f); role == "root" && v > bestV {
			best, bestV = f, v
		}
	}
	return best
}
