package client

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strings"
	"testing"
)

// goTUFMessageTests names, for every go-tuf message errors.go parses, the
// test that makes real go-tuf code produce it and asserts the explanation
// built from it. A go-tuf upgrade that rewords a message fails that test
// instead of silently degrading the reason to go-tuf's own text.
var goTUFMessageTests = map[string]string{
	"reRootVersion":         "TestSkippedRootVersionIsRefused",
	"reTimestampRollback":   "TestRollbackOfTimestampAfterRestartIsRefused",
	"reSnapshotRollback":    "TestRollbackOfSnapshotIsRefused",
	"reExpectedRoleVersion": "TestMixAndMatchTargetsFromOlderSnapshotIsRefused",
	"reSnapshotMismatch":    "TestMixAndMatchSnapshotFromOtherTimestampIsRefused",
	"reUnsigned":            "TestOneKeyUnderTwoKeyIDsDoesNotMeetThreshold",
	"reExpiredDelegated":    "TestFreezeAttackExpiredRoleIsRefused",
	"reThreshold":           "TestDelegationWithThresholdZeroIsDeniedWithGoTUFsMessageParsed",
	"reRepeatedSig":         "TestRepeatedSignatureIsRefused",
	"reTargetNotFound":      "TestMissingTargetIsErrTargetNotFound",
	"reRoleNotInSnapshot":   "TestSnapshotWithoutTargetsIsRefused",
	"reSnapshotDropsRole":   "TestSnapshotDroppingARoleIsRefused",
}

// TestEveryParsedGoTUFMessageHasATest: each regexp variable of errors.go
// appears above with a test that exists in this package.
func TestEveryParsedGoTUFMessageHasATest(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var vars []string
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok {
			for _, id := range vs.Names {
				if len(id.Name) > 2 && strings.HasPrefix(id.Name, "re") && id.Name[2] >= 'A' && id.Name[2] <= 'Z' {
					vars = append(vars, id.Name)
				}
			}
		}
		return true
	})
	if len(vars) < 10 {
		t.Fatalf("found only %d message patterns in errors.go", len(vars))
	}
	defined := definedTestNames(t)
	for _, v := range vars {
		name, ok := goTUFMessageTests[v]
		if !ok {
			t.Errorf("errors.go parses go-tuf's message %s: name the test that produces it in goTUFMessageTests", v)
			continue
		}
		if !defined[name] {
			t.Errorf("%s: test %s does not exist", v, name)
		}
	}
}

func definedTestNames(t *testing.T) map[string]bool {
	t.Helper()
	files, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^func (Test[A-Za-z0-9_]+)\(`)
	out := map[string]bool{}
	for _, e := range files {
		if !strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		b, err := os.ReadFile(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			out[m[1]] = true
		}
	}
	return out
}
