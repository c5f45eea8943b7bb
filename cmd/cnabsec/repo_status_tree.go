package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/cnabsec/cnabsec/metadata"
)

// binRunMin is the number of sibling hash bins from which the text tree
// shows them as one line.
const binRunMin = 4

// delegationNode is one targets-like role in the delegation tree of repo
// status: the published metadata, else the staged one.
type delegationNode struct {
	Role      string    `json:"role"`
	Staged    bool      `json:"staged"`
	Version   int64     `json:"version"`
	Expires   time.Time `json:"expires"`
	Threshold int       `json:"threshold"`
	ValidKeys int       `json:"validKeys"`
	Targets   *int      `json:"targets,omitempty"`
	// StagedVersion is a newer staged version waiting to be published.
	StagedVersion int64             `json:"stagedVersion,omitempty"`
	Delegations   []*delegationNode `json:"delegations,omitempty"`
	thresholdMet  bool
}

// repoStatusJSON is repo status -o json: the status with the delegation tree.
type repoStatusJSON struct {
	*metadata.Status
	Delegations *delegationNode `json:"delegations,omitempty"`
}

// delegationTree builds the tree of targets-like roles (targets → releases
// → hash bins, and any other delegation of targets) from a status; nil
// when the repository has no targets role.
func delegationTree(st *metadata.Status) *delegationNode {
	nodes := map[string]*delegationNode{}
	var order []string
	for _, rs := range st.Roles {
		switch n, seen := nodes[rs.Role]; {
		case !targetsLike(rs.Role):
		case seen:
			if rs.Staged && !n.Staged {
				n.StagedVersion = rs.Version
			}
		default:
			nodes[rs.Role] = newDelegationNode(rs)
			order = append(order, rs.Role)
		}
	}
	for _, name := range order {
		if p := nodes[metadata.DelegatorOf(name)]; p != nil && name != metadata.RoleTargets {
			p.Delegations = append(p.Delegations, nodes[name])
		}
	}
	return nodes[metadata.RoleTargets]
}

func targetsLike(role string) bool {
	return role != metadata.RoleRoot && role != metadata.RoleSnapshot && role != metadata.RoleTimestamp
}

func newDelegationNode(rs metadata.RoleStatus) *delegationNode {
	return &delegationNode{Role: rs.Role, Staged: rs.Staged, Version: rs.Version, Expires: rs.Expires,
		Threshold: rs.Threshold, ValidKeys: rs.ValidKeys, Targets: rs.Targets, thresholdMet: rs.ThresholdMet()}
}

// printDelegationTree writes the tree indented, runs of hash bins on one line.
func printDelegationTree(w io.Writer, root *delegationNode) {
	if root == nil {
		return
	}
	fmt.Fprintln(w, "delegations:")
	fmt.Fprintf(w, "  %s\n", root.line())
	printChildren(w, root.Delegations, "  ")
}

func printChildren(w io.Writer, children []*delegationNode, indent string) {
	items := groupBins(children)
	for i, it := range items {
		branch, next := "├─ ", "│  "
		if i == len(items)-1 {
			branch, next = "└─ ", "   "
		}
		fmt.Fprintf(w, "%s%s%s\n", indent, branch, it.text)
		if it.node != nil {
			printChildren(w, it.node.Delegations, indent+next)
		}
	}
}

// treeItem is one line under a parent: a role, or a run of hash bins.
type treeItem struct {
	text string
	node *delegationNode // nil for a run of bins
}

// groupBins turns the children into lines, binRunMin or more hash bins
// (roles named releases-bin-*) into one.
func groupBins(children []*delegationNode) []treeItem {
	var items []treeItem
	var bins []*delegationNode
	for _, c := range children {
		if metadata.DelegatorOf(c.Role) == metadata.RoleReleases && strings.HasPrefix(c.Role, metadata.RoleReleases+"-bin") {
			bins = append(bins, c)
			continue
		}
		items = append(items, treeItem{text: c.line(), node: c})
	}
	if len(bins) >= binRunMin {
		return append(items, treeItem{text: binsLine(bins)})
	}
	for _, b := range bins {
		items = append(items, treeItem{text: b.line(), node: b})
	}
	return items
}

func (n *delegationNode) line() string {
	var b strings.Builder
	state := "published"
	if n.Staged {
		state = "staged"
	}
	fmt.Fprintf(&b, "%s  %s version %d  threshold %d  expires %s", n.Role, state, n.Version, n.Threshold, formatTime(n.Expires))
	if n.Targets != nil {
		fmt.Fprintf(&b, "  targets %d", *n.Targets)
	}
	if n.StagedVersion > 0 {
		fmt.Fprintf(&b, "  (version %d staged)", n.StagedVersion)
	}
	if !n.thresholdMet {
		b.WriteString("  BELOW THRESHOLD")
	}
	return b.String()
}

// binsLine summarizes a run of hash bins: first and last name, count,
// thresholds, the earliest expiry, targets in all and bins below threshold.
func binsLine(bins []*delegationNode) string {
	earliest, targets, below, staged := bins[0].Expires, 0, 0, 0
	thresholds := map[int]bool{}
	for _, b := range bins {
		if b.Expires.Before(earliest) {
			earliest = b.Expires
		}
		if b.Targets != nil {
			targets += *b.Targets
		}
		if !b.thresholdMet {
			below++
		}
		if b.Staged || b.StagedVersion > 0 {
			staged++
		}
		thresholds[b.Threshold] = true
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s … %s  %d hash bins  threshold %s  earliest expiry %s  targets %d",
		bins[0].Role, bins[len(bins)-1].Role, len(bins), thresholdList(thresholds), formatTime(earliest), targets)
	if staged > 0 {
		fmt.Fprintf(&b, "  (%d staged)", staged)
	}
	if below > 0 {
		fmt.Fprintf(&b, "  %d BELOW THRESHOLD", below)
	}
	return b.String()
}

func thresholdList(ts map[int]bool) string {
	var ns []int
	for t := range ts {
		ns = append(ns, t)
	}
	sort.Ints(ns)
	out := make([]string, len(ns))
	for i, t := range ns {
		out[i] = fmt.Sprint(t)
	}
	return strings.Join(out, ",")
}
