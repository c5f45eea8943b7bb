package metadata

import (
	"math/bits"

	tuf "github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// binPrefix names the hash-bin roles of releases: releases-bin-00 ... The
// bins are TAP 15 succinct delegations (go-tuf's path_hash_prefixes is
// broken): a target goes to the bin numbered by the first bit_length bits of
// the sha256 of its name, and every bin is signed by the releases keys.
const binPrefix = RoleReleases + "-bin"

// MaxBins bounds --bins: every bin is a file written at init and on refresh.
const MaxBins = 4096

// checkBins accepts 0 (no bins) or a power of two from 2 to MaxBins.
func checkBins(n int) (bitLength int, err error) {
	if n == 0 {
		return 0, nil
	}
	if n < 2 || n > MaxBins || n&(n-1) != 0 {
		return 0, fault.Inputf("bins %d: want a power of two from 2 to %d", n, MaxBins)
	}
	return bits.TrailingZeros(uint(n)), nil
}

// succinctDelegation makes releases delegate everything to its hash bins
// with the releases keys and threshold.
func succinctDelegation(keys map[string]*tuf.Key, keyIDs []string, threshold, bitLength int) *tuf.Delegations {
	return &tuf.Delegations{
		Keys:          keys,
		SuccinctRoles: &tuf.SuccinctRoles{KeyIDs: keyIDs, Threshold: threshold, BitLength: bitLength, NamePrefix: binPrefix},
	}
}

// binsOf returns the bin roles a targets-like role delegates to (nil if none).
func binsOf(md *tuf.Metadata[tuf.TargetsType]) []string {
	if md == nil || md.Signed.Delegations == nil || md.Signed.Delegations.SuccinctRoles == nil {
		return nil
	}
	return md.Signed.Delegations.SuccinctRoles.GetRoles()
}
