package depcheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// moduleRoot is the module's directory, seen from this package.
const moduleRoot = "../.."

// examplesDir holds the Go programs and scripts a user is told to copy.
const examplesDir = "examples"

// thirdPartyForExamples are the only modules outside the standard library an
// example may import besides this module's public packages: a registry to
// publish to is part of every release.
var thirdPartyForExamples = []string{"github.com/google/go-containerregistry/"}

// exampleImportViolation says why a file a user copies may not import imp,
// or "" when it may. Users of the module can import neither internal/ nor a
// command (cmd/...), so an example that does cannot be copied.
func exampleImportViolation(imp string) string {
	if imp == module || strings.HasPrefix(imp, module+"/") {
		r := rel(imp)
		switch {
		case slices.Contains(strings.Split(r, "/"), "internal"):
			return "an internal package, which code outside this module cannot import"
		case topDir(imp) == "cmd":
			return "a command, not a library"
		case topDir(imp) == "deploy":
			return "deployment manifests, not a library"
		}
		return ""
	}
	first, _, _ := strings.Cut(imp, "/")
	if !strings.Contains(first, ".") {
		return "" // the standard library
	}
	for _, p := range thirdPartyForExamples {
		if strings.HasPrefix(imp+"/", p) {
			return ""
		}
	}
	return "a third-party module other than go-containerregistry: a user copying the example would have to add it"
}

// isExampleFile reports whether a Go file is one a newcomer copies: any file
// under examples/, an example_test.go, or a test file declaring an Example.
func isExampleFile(relPath string, f *ast.File) bool {
	slash := filepath.ToSlash(relPath)
	if strings.HasPrefix(slash, examplesDir+"/") || filepath.Base(slash) == "example_test.go" {
		return true
	}
	if !strings.HasSuffix(slash, "_test.go") {
		return false
	}
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Example") {
			return true
		}
	}
	return false
}

// skipDir reports whether the walk leaves a directory out, as the go tool
// does (hidden, _-prefixed, testdata, vendor).
func skipDir(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor"
}

// exampleFiles parses every Go file of the module that isExampleFile picks.
func exampleFiles(t *testing.T) map[string]*ast.File {
	t.Helper()
	files := map[string]*ast.File{}
	err := filepath.WalkDir(moduleRoot, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && path != moduleRoot && skipDir(d.Name()):
			return filepath.SkipDir
		case d.IsDir() || !strings.HasSuffix(d.Name(), ".go"):
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		relPath := filepath.ToSlash(strings.TrimPrefix(path, moduleRoot+string(filepath.Separator)))
		if isExampleFile(relPath, f) {
			files[relPath] = f
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestExamplesImportOnlyPublicPackages keeps every example copyable: a
// user's program can import this module's public packages, the standard
// library and go-containerregistry, never internal/ (test fixtures included).
func TestExamplesImportOnlyPublicPackages(t *testing.T) {
	files := exampleFiles(t)
	for path, f := range files {
		for _, spec := range f.Imports {
			imp, _ := strconv.Unquote(spec.Path.Value)
			if why := exampleImportViolation(imp); why != "" {
				t.Errorf("%s imports %s: %s; write the example with public APIs only", path, imp, why)
			}
		}
	}
	// The verifier's and the signer's examples at least: a walk that finds
	// fewer read the wrong directory.
	for _, want := range []string{"verifier/example_test.go", "signer/example_test.go", "metadata/example_test.go"} {
		if files[want] == nil {
			t.Errorf("%s not found among %d example files: the walk missed it", want, len(files))
		}
	}
}

// TestExampleImportRules checks the rules themselves on known imports.
func TestExampleImportRules(t *testing.T) {
	for _, c := range []struct {
		imp string
		ok  bool
	}{
		{"fmt", true},
		{"net/http/httptest", true},
		{module, true},
		{module + "/verifier", true},
		{module + "/metadata/ocistore", true},
		{module + "/bundle/oci", true},
		{"github.com/google/go-containerregistry/pkg/registry", true},
		{"github.com/google/go-containerregistry/pkg/v1/random", true},
		{module + "/internal/testing/scenario", false},
		{module + "/internal/fault", false},
		{module + "/metadata/internal/x", false},
		{module + "/cmd/cnabsec", false},
		{"github.com/in-toto/in-toto-golang/in_toto", false},
		{"github.com/google/go-containerregistryx/pkg", false},
	} {
		got := exampleImportViolation(c.imp) == ""
		if got != c.ok {
			t.Errorf("%s: allowed=%v, want %v", c.imp, got, c.ok)
		}
	}
}

// TestExampleFilesAreFound checks which files count as examples.
func TestExampleFilesAreFound(t *testing.T) {
	parse := func(src string) *ast.File {
		f, err := parser.ParseFile(token.NewFileSet(), "x.go", src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	withExample := parse("package p_test\nfunc ExampleX() {}\n")
	plain := parse("package p_test\nfunc TestX() {}\nfunc (T) ExampleMethod() {}\n")
	for _, c := range []struct {
		path string
		f    *ast.File
		want bool
	}{
		{"verifier/example_test.go", plain, true},
		{"examples/sign/main.go", plain, true},
		{"signer/behaviour_test.go", withExample, true},
		{"signer/behaviour_test.go", plain, false},
		{"signer/signer.go", withExample, false},
	} {
		if got := isExampleFile(c.path, c.f); got != c.want {
			t.Errorf("%s: example=%v, want %v", c.path, got, c.want)
		}
	}
}
