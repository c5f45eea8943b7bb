package client

import (
	"slices"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"
)

// maxDelegations matches go-tuf's default walk bound (config.MaxDelegations).
const maxDelegations = 32

// checkDelegationPath repeats go-tuf's pre-order walk over the roles it
// loaded, finds the role that lists name (the one go-tuf returned tf from)
// and verifies every delegation on the path to it again: go-tuf keeps a
// role it loaded through one delegation and reuses it, unverified, when
// another delegation with other keys leads to it ("diamond delegation").
// It returns the name of the listing role.
func (c *Client) checkDelegationPath(name string, tf *metadata.TargetFiles) (string, error) {
	if c.edges == nil {
		c.edges = map[delegationEdge]error{}
	}
	return c.checkDelegationPathIn(name, tf, c.up.GetTrustedMetadataSet(), c.edges)
}

// delegationEdge is a delegating role and a delegated role, as loaded
// (the same names with other metadata are another edge).
type delegationEdge struct {
	parent, role string
	pm, rm       *metadata.Metadata[metadata.TargetsType]
}

// checkDelegationPathIn is checkDelegationPath over the roles loaded in tm.
// memo, when not nil, remembers the result of verifying each edge (the
// signatures of a large role are checked once, not once per target).
func (c *Client) checkDelegationPathIn(name string, tf *metadata.TargetFiles, tm trustedmetadata.TrustedMetadata, memo map[delegationEdge]error) (string, error) {
	type edge struct{ role, parent string }
	stack := []edge{{metadata.TARGETS, metadata.ROOT}}
	parent := map[string]string{}
	visited := map[string]bool{}
	for len(visited) <= maxDelegations && len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if visited[e.role] {
			continue
		}
		md := tm.Targets[e.role]
		if md == nil {
			return "", fault.Deniedf("target %q: role %s on the delegation path was not loaded", name, e.role)
		}
		parent[e.role] = e.parent
		if got, ok := md.Signed.Targets[name]; ok {
			if got != tf {
				return "", fault.Deniedf("target %q: found in role %s, but the TUF walk returned another entry", name, e.role)
			}
			return e.role, c.verifyPath(name, e.role, parent, tm, memo)
		}
		visited[e.role] = true
		if d := md.Signed.Delegations; d != nil {
			var children []edge
			for _, r := range d.GetRolesForTarget(name) {
				children = append(children, edge{r.Name, e.role})
				if r.Terminating {
					stack = nil
					break
				}
			}
			slices.Reverse(children)
			stack = append(stack, children...)
		}
	}
	return "", fault.Deniedf("target %q: no delegation path leads to the role that lists it", name)
}

func (c *Client) verifyPath(name, role string, parent map[string]string, t trustedmetadata.TrustedMetadata, memo map[delegationEdge]error) error {
	for r := role; r != metadata.TARGETS; r = parent[r] {
		p := parent[r]
		pm := t.Targets[p]
		if pm == nil {
			return fault.Deniedf("target %q: delegating role %s of %s was not loaded", name, p, r)
		}
		var err error
		key := delegationEdge{p, r, pm, t.Targets[r]}
		if e, done := memo[key]; done {
			err = e
		} else {
			err = pm.VerifyDelegate(r, t.Targets[r])
			if memo != nil {
				memo[key] = err
			}
		}
		if err != nil {
			return fault.Deniedf("target %q: role %s is reached through %s, whose delegation keys did not sign it (%v): diamond delegation", name, r, p, err)
		}
	}
	return nil
}

// preloadPath loads, in the order go-tuf's lookup of name visits them, the
// delegated roles that lookup needs, through loadRole: fetched and cached
// under their encoded names (roleFile), never read from a path built from
// a raw role name. go-tuf's updater reuses a role it already holds, and
// otherwise first reads a local copy at the raw role name joined to its
// metadata directory: "../../x" would make it open a file outside the
// cache. After preloadPath, go-tuf's walk finds every role it visits loaded.
func (c *Client) preloadPath(name string) error {
	tm := c.up.GetTrustedMetadataSet() // shares go-tuf's map of loaded roles
	if tm.Targets[metadata.TARGETS] == nil || tm.Snapshot == nil {
		return nil // not refreshed: go-tuf's lookup fails on its own
	}
	budget := allTargetsBytes
	stack := []roleEdge{{metadata.TARGETS, metadata.ROOT}}
	visited := map[string]bool{}
	for len(visited) <= maxDelegations && len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if visited[e.role] {
			continue
		}
		md, err := c.loadRole(&tm, e.role, e.parent, &budget) // reuses a loaded role
		if err != nil {
			return err
		}
		if _, ok := md.Signed.Targets[name]; ok {
			return nil
		}
		visited[e.role] = true
		children, terminating := rolesFor(md, name, e.role)
		if terminating {
			stack = nil
		}
		stack = append(stack, children...)
	}
	return nil
}

// roleEdge is a role and the role that delegates it.
type roleEdge struct{ role, parent string }

// rolesFor lists the roles parent (loaded as md) delegates name to, in the
// order go-tuf's walk pushes them (the first to visit last), and whether
// one of them is terminating (the walk then forgets the roles it had left).
func rolesFor(md *metadata.Metadata[metadata.TargetsType], name, parent string) (children []roleEdge, terminating bool) {
	d := md.Signed.Delegations
	if d == nil {
		return nil, false
	}
	for _, r := range d.GetRolesForTarget(name) {
		children = append(children, roleEdge{r.Name, parent})
		if r.Terminating {
			terminating = true
			break
		}
	}
	slices.Reverse(children)
	return children, terminating
}
