package layouts

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/in-toto/in-toto-golang/in_toto"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
)

func readVector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectors, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func vectorInput(t testing.TB) VerifyInput {
	owner, err := keys.LoadPublic(filepath.Join(vectors, "owner.pub"))
	if err != nil {
		t.Fatal(err)
	}
	bundle := readVector(t, "bundle.json")
	return VerifyInput{
		Layout:     readVector(t, "root.layout"),
		LayoutKeys: []*keys.PublicKey{owner},
		Links: map[string][]byte{
			"write-bundle.68a12d64.link": readVector(t, "write-bundle.68a12d64.link"),
			"package.cbc48efe.link":      readVector(t, "package.cbc48efe.link"),
		},
		Artifact: ArtifactBinding{Name: "bundle.json", SHA256: sha256Hex(bundle), Data: bundle},
		Now:      testNow,
	}
}

func TestPythonMadeVectorVerifies(t *testing.T) {
	in := vectorInput(t)
	if !strings.HasPrefix(in.Artifact.SHA256, "e91b9dfc") {
		t.Fatalf("vector bundle.json sha256 %s, want e91b9dfc…", in.Artifact.SHA256)
	}
	res := mustVerify(t, in)
	want := map[string]int{CheckLayoutSignature: 1, CheckLayoutExpiry: 1, CheckStepLinks: 2, CheckArtifactRules: 4, CheckBinding: 1}
	got := map[string]int{}
	for _, c := range res.Checks {
		if c.Status == Pass {
			got[c.Name]++
		}
	}
	for name, n := range want {
		if got[name] != n {
			t.Errorf("%d passing %q checks, want %d (%+v)", got[name], name, n, res.Checks)
		}
	}
	// The python layout expects no command for write-bundle, whose link ran cp:
	// reported, not enforced; package ran the expected python3 canon.py.
	var warned []string
	for _, c := range res.Checks {
		if c.Name == CheckStepCommand {
			warned = append(warned, c.Subject)
			if c.Status != Warn || !strings.Contains(c.Detail, `ran "cp bundle.src.tmp bundle.src.json"`) {
				t.Errorf("command check %+v", c)
			}
		}
	}
	if len(warned) != 1 || warned[0] != "write-bundle" {
		t.Errorf("command warnings for %v, want [write-bundle]", warned)
	}
}

func TestPythonVectorWithOtherArtifactFailsBinding(t *testing.T) {
	in := vectorInput(t)
	in.Artifact = ArtifactBinding{Name: "bundle.json", SHA256: sha256Hex([]byte("another bundle"))}
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckBinding, "is not a product of the layout's last step")
}

func TestGoMadeChainVerifies(t *testing.T) {
	for _, typ := range []string{keys.GenEd25519, keys.GenECDSAP256, keys.GenRSA3072} {
		t.Run(typ, func(t *testing.T) {
			c := newChain(t, typ)
			res := mustVerify(t, c.input())
			last := res.Checks[len(res.Checks)-1]
			if last.Name != CheckBinding || !strings.Contains(last.Detail, "product bundle.json of the last step") {
				t.Fatalf("last check %+v, want the binding to bundle.json", last)
			}
		})
	}
}

func TestArtifactTamperedBetweenStepsIsDenied(t *testing.T) {
	c := newChain(t, keys.GenEd25519, tamperBetweenSteps)
	res, err := Verify(context.Background(), c.input())
	wantDenied(t, res, err, CheckArtifactRules, "materials [bundle.src.json] disallowed by rule [DISALLOW *]")
	if f := res.FirstFailure(); f.Subject != "package materials" {
		t.Fatalf("failed subject %q, want the package step's materials", f.Subject)
	}
}

func TestLinkSignedByNonFunctionaryIsNotCounted(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	in := c.input()
	// The developer signs the package step's evidence instead of CI.
	link := parsedLink(t, in.Links[c.linkName("package", c.ci)])
	delete(in.Links, c.linkName("package", c.ci))
	in.Links[c.linkName("package", c.dev)] = signLink(t, link, c.dev)
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckStepLinks, "not by a functionary of step \"package\"")
	if !strings.Contains(err.Error(), "found 0") {
		t.Fatalf("want the count of accepted links in %q", err)
	}
}

func TestLinkRenamedToAnotherStepIsNotCounted(t *testing.T) {
	// CI is a functionary of both steps; its package link is replayed as write-bundle evidence.
	c := newChain(t, keys.GenEd25519)
	in := c.input()
	l := parsedLayout(t, c.layout)
	l.Steps[0].PubKeys = append(l.Steps[0].PubKeys, c.ci.Public().ID())
	in.Layout = signLayout(t, l, c.owner)
	delete(in.Links, c.linkName("write-bundle", c.dev))
	in.Links[c.linkName("write-bundle", c.ci)] = in.Links[c.linkName("package", c.ci)]
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckStepLinks, `signed link is for step "package", not "write-bundle"`)
}

func TestMissingLinkIsDenied(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	in := c.input()
	delete(in.Links, c.linkName("write-bundle", c.dev))
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckStepLinks, `no link file for step "write-bundle"`)
}

func TestExpiredLayoutIsDenied(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	in := c.input()
	in.Now = testNow.AddDate(1, 0, 1)
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckLayoutExpiry, "the layout expired at")
}

func TestLayoutSignedByWrongKeyIsDenied(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	in := c.input()
	other := genKey(t, keys.GenEd25519)
	in.LayoutKeys = []*keys.PublicKey{other.Public()}
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckLayoutSignature, "no signature by key "+other.Public().ID())
}

func TestLayoutSignedByOnlyOneOfTwoRequiredKeysIsDenied(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	second := genKey(t, keys.GenECDSAP256)
	in := c.input()
	in.LayoutKeys = []*keys.PublicKey{c.owner.Public(), second.Public()}
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckLayoutSignature, "no signature by key "+second.Public().ID())
	// With both owners' signatures it verifies.
	in.Layout = signLayout(t, parsedLayout(t, c.layout), c.owner, second)
	mustVerify(t, in)
}

func TestLayoutModifiedAfterSigningIsDenied(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	in := c.input()
	in.Layout = []byte(strings.Replace(string(in.Layout), `"DISALLOW"`, `"ALLOW"`, 1))
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckLayoutSignature, "does not verify")
}

func TestThresholdMetByOneKeyListedUnderTwoIDsIsDenied(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	l := parsedLayout(t, c.layout)
	// The CI key listed a second time under another (correctly computed) key ID.
	alias := c.ci.Public().InTotoKey()
	alias.KeyIDHashAlgorithms = []string{"sha256"}
	aliasID, err := listedKeyID(alias)
	if err != nil {
		t.Fatal(err)
	}
	alias.KeyID = aliasID
	l.Keys[aliasID] = alias
	l.Steps[1].PubKeys = append(l.Steps[1].PubKeys, aliasID)
	l.Steps[1].Threshold = 2
	in := c.input()
	in.Layout = signLayout(t, l, c.owner)
	// The same key signs the link a second time under the alias ID.
	link := parsedLink(t, in.Links[c.linkName("package", c.ci)])
	mb := &in_toto.Metablock{Signed: link}
	payload, _ := mb.GetSignableRepresentation()
	sig, err := keys.SignHex(context.Background(), c.ci, payload)
	if err != nil {
		t.Fatal(err)
	}
	mb.Signatures = []in_toto.Signature{{KeyID: aliasID, Sig: sig}}
	in.Links[LinkFileName("package", aliasID)], _ = Marshal(mb)
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckStepLinks, "requires links signed by 2 distinct functionary key(s), found 1")
	if !strings.Contains(err.Error(), "the same public key as") {
		t.Fatalf("the reason should name the duplicate key: %v", err)
	}
}

func TestDotDotArtifactPathInLinkIsRefused(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	in := c.input()
	link := parsedLink(t, in.Links[c.linkName("package", c.ci)])
	link.Products["x/../bundle.json"] = in_toto.HashObj{"sha256": strings.Repeat("0", 64)}
	in.Links[c.linkName("package", c.ci)] = signLink(t, link, c.ci)
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckStepLinks, `artifact path "x/../bundle.json" is not a clean relative path`)
}

func TestAbsoluteArtifactPathInLinkIsRefused(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	in := c.input()
	link := parsedLink(t, in.Links[c.linkName("write-bundle", c.dev)])
	link.Products["/etc/passwd"] = in_toto.HashObj{"sha256": strings.Repeat("0", 64)}
	in.Links[c.linkName("write-bundle", c.dev)] = signLink(t, link, c.dev)
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckStepLinks, `artifact path "/etc/passwd" is not a clean relative path`)
}

func TestLinksNotMentioningTheArtifactFailBinding(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	in := c.input()
	in.Artifact = ArtifactBinding{Name: "bundle.json", SHA256: sha256Hex([]byte(`{"name":"other"}`))}
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckBinding, "is not a product of the layout's last step")
	for _, ch := range res.Checks[:len(res.Checks)-1] {
		if ch.Status == Fail {
			t.Fatalf("only the binding should fail: %+v", ch)
		}
	}
}

func TestArtifactOnlyInFirstStepFailsBinding(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	in := c.input()
	src := parsedLink(t, in.Links[c.linkName("write-bundle", c.dev)]).Products["bundle.src.json"]["sha256"]
	in.Artifact.SHA256 = src
	// The package step lists bundle.src.json among its products too, so the
	// source is (rightly) bound: it leaves the supply chain unchanged.
	mustVerify(t, in)
	// Without it among the last step's products, the first step's product is
	// not what the supply chain delivers.
	link := parsedLink(t, in.Links[c.linkName("package", c.ci)])
	delete(link.Products, "bundle.src.json")
	in.Links[c.linkName("package", c.ci)] = signLink(t, link, c.ci)
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckBinding, "is not a product of the layout's last step")
}

func TestDuplicateLinksFromDistinctKeysMustAgree(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	second := genKey(t, keys.GenEd25519)
	l := parsedLayout(t, c.layout)
	l.Keys[second.Public().ID()] = second.Public().InTotoKey()
	l.Steps[1].PubKeys = append(l.Steps[1].PubKeys, second.Public().ID())
	l.Steps[1].Threshold = 2
	in := c.input()
	in.Layout = signLayout(t, l, c.owner)
	link := parsedLink(t, in.Links[c.linkName("package", c.ci)])
	in.Links[c.linkName("package", second)] = signLink(t, link, second)
	mustVerify(t, in)
	link.Products["bundle.json"] = in_toto.HashObj{"sha256": strings.Repeat("a", 64)}
	in.Links[c.linkName("package", second)] = signLink(t, link, second)
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckStepLinks, "record different artifacts")
}

func TestLayoutWithInspectionsIsRefusedByDefault(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	l := parsedLayout(t, c.layout)
	l.Inspect = []in_toto.Inspection{{Type: "inspection", Run: []string{"sh", "-c", "touch pwned"},
		SupplyChainItem: in_toto.SupplyChainItem{Name: "check", ExpectedMaterials: [][]string{}, ExpectedProducts: [][]string{}}}}
	in := c.input()
	in.Layout = signLayout(t, l, c.owner)
	cwd, _ := os.Getwd()
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckInspection, "refused by default")
	if _, err := os.Stat(filepath.Join(cwd, "pwned")); err == nil {
		os.Remove(filepath.Join(cwd, "pwned"))
		t.Fatal("the inspection ran")
	}
}

func inspectionLayout(t *testing.T, c *chain, run ...string) []byte {
	l := parsedLayout(t, c.layout)
	l.Inspect = []in_toto.Inspection{{Type: "inspection", Run: run,
		SupplyChainItem: in_toto.SupplyChainItem{Name: "check",
			ExpectedMaterials: [][]string{{"MATCH", "bundle.json", "WITH", "PRODUCTS", "FROM", "package"}, {"DISALLOW", "*"}},
			ExpectedProducts:  [][]string{{"ALLOW", "bundle.json"}, {"CREATE", "env.txt"}, {"DISALLOW", "*"}}}}}
	return signLayout(t, l, c.owner)
}

func TestAllowedInspectionRunsInAFreshDirWithEmptyEnvironment(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	in := c.input()
	in.Artifact.Data = c.bundle
	in.AllowInspections = true
	in.InspectionDir = t.TempDir()
	// The rules demand the directory held exactly the artifact and that the
	// environment the command saw was empty (env.txt empty is checked below).
	in.Layout = inspectionLayout(t, c, "sh", "-c", "env | grep -v '^PWD=' | grep -v '^SHLVL=' | grep -v '^_=' > env.txt; test ! -s env.txt")
	t.Setenv("CNABSEC_SECRET_FOR_TEST", "leak")
	res := mustVerify(t, in)
	found := false
	for _, ch := range res.Checks {
		found = found || (ch.Name == CheckInspection && ch.Status == Pass)
	}
	if !found {
		t.Fatalf("no passing inspection check: %+v", res.Checks)
	}
	if ents, _ := os.ReadDir(in.InspectionDir); len(ents) != 0 {
		t.Fatalf("inspection directory left behind: %v", ents)
	}
}

func TestInspectionThatFailsIsDenied(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	in := c.input()
	in.Artifact.Data = c.bundle
	in.AllowInspections = true
	in.Layout = inspectionLayout(t, c, "sh", "-c", "echo bad bundle >&2; exit 3")
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckInspection, "exited with 3: bad bundle")
}

func TestInspectionThatHangsIsKilledAtTheTimeout(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	in := c.input()
	in.Artifact.Data = c.bundle
	in.AllowInspections = true
	in.InspectionTimeout = 200e6
	in.Layout = inspectionLayout(t, c, "sh", "-c", "sleep 30 & sleep 30")
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckInspection, "did not finish within 200ms")
}

func TestInspectionSeesOnlyTheArtifact(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	in := c.input()
	in.AllowInspections = true
	in.Artifact.Data = c.bundle
	// An inspection that reads a file outside its directory sees nothing of the links or cwd.
	in.Layout = inspectionLayout(t, c, "sh", "-c", "test \"$(ls -A)\" = bundle.json && : > env.txt")
	mustVerify(t, in)
}

func TestMalformedVerifyInputIsInputError(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	for name, mut := range map[string]func(*VerifyInput){
		"no time":       func(in *VerifyInput) { in.Now = time.Time{} },
		"bad digest":    func(in *VerifyInput) { in.Artifact.SHA256 = "e91b" },
		"data mismatch": func(in *VerifyInput) { in.Artifact.Data = []byte("x") },
		"no layout":     func(in *VerifyInput) { in.Layout = nil },
	} {
		in := c.input()
		mut(&in)
		if _, err := Verify(context.Background(), in); !fault.Is(err, fault.Input) {
			t.Errorf("%s: want an input error, got %v", name, err)
		}
	}
}

func TestDSSEEnvelopeIsRefusedWithReason(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	in := c.input()
	in.Layout = []byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}`)
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckLayoutFormat, "a DSSE envelope")
}

func TestDifferentlyCasedMemberInSignedLayoutIsRefused(t *testing.T) {
	// Go's decoder matches member names case-insensitively; a signed "Steps"
	// next to "steps" must not be read differently from how it was signed.
	c := newChain(t, keys.GenEd25519)
	in := c.input()
	s := strings.Replace(string(in.Layout), `"steps":`, `"Steps": [], "steps":`, 1)
	res, err := Verify(context.Background(), VerifyInput{Layout: []byte(s), LayoutKeys: in.LayoutKeys, Links: in.Links, Artifact: in.Artifact, Now: in.Now})
	wantDenied(t, res, err, CheckLayoutFormat, `member "Steps" is not in-toto's`)
}

func TestSublayoutIsVerifiedRecursivelyWithoutExecuting(t *testing.T) {
	// The write-bundle step is delegated: the developer signs a sublayout whose
	// one step ("edit") is performed by a third key.
	c := newChain(t, keys.GenEd25519)
	editor := genKey(t, keys.GenEd25519)
	dir := t.TempDir()
	writePub(t, dir, "editor.pub", editor)
	sub, err := Create([]byte(`steps:
  - name: edit
    functionaries: [editor.pub]
    expected_products: [[CREATE, bundle.src.json], [DISALLOW, "*"]]
`), []keys.Signer{c.dev}, dir, testNow)
	if err != nil {
		t.Fatal(err)
	}
	in := c.input()
	orig := parsedLink(t, in.Links[c.linkName("write-bundle", c.dev)])
	delete(in.Links, c.linkName("write-bundle", c.dev))
	in.Links[c.linkName("write-bundle", c.dev)], _ = Marshal(sub)
	subdir := "write-bundle." + c.dev.Public().ID()[:8] + "/"
	edit := orig
	edit.Name = "edit"
	in.Links[subdir+LinkFileName("edit", editor.Public().ID())] = signLink(t, edit, editor)
	res := mustVerify(t, in)
	found := false
	for _, ch := range res.Checks {
		found = found || (ch.Name == CheckSublayout && ch.Status == Pass)
	}
	if !found {
		t.Fatalf("no sublayout check: %+v", res.Checks)
	}
	// Without the sublayout's own link it fails, naming the inner step.
	delete(in.Links, subdir+LinkFileName("edit", editor.Public().ID()))
	res, err = Verify(context.Background(), in)
	wantDenied(t, res, err, CheckStepLinks, `no link file for step "edit"`)
	if f := res.FirstFailure(); f.Subject != subdir+"edit" {
		t.Fatalf("subject %q, want the inner step under %s", f.Subject, subdir)
	}
}

func TestLinksSharingMemoryAreParsedApart(t *testing.T) {
	// Two link files given as slices of one buffer with the same start: the
	// parse of one must never stand for the other (in the concurrent parse).
	defer func(n int) { parallelParseBytes = n }(parallelParseBytes)
	parallelParseBytes = 0
	c := newChain(t, keys.GenEd25519)
	in := c.input()
	name := c.linkName("package", c.ci)
	good := in.Links[name]
	buf := append(append([]byte{}, good...), []byte(strings.Repeat(" ", 20))...)
	in.Links[name] = buf[:len(good)]
	for k := 1; k <= 19; k++ { // other files: the same start, other lengths
		in.Links[fmt.Sprintf("other%d.12345678.link", k)] = buf[:len(good)+k]
	}
	mustVerify(t, in)
	in.Links[name] = buf[:len(good)-2] // truncated (the final "}\n" cut): must fail, whatever was parsed for the others
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckStepLinks, "unreadable")
}

func TestAllowedInspectionRunsWithMemoryAndFileSizeLimits(t *testing.T) {
	c := newChain(t, keys.GenEd25519)
	in := c.input()
	in.Artifact.Data = c.bundle
	in.AllowInspections = true
	in.InspectionMemory = 512 << 20
	// The command itself checks the limits it runs under.
	in.Layout = inspectionLayout(t, c, "sh", "-c", `test "$(ulimit -v)" = 524288 && test "$(ulimit -f)" != unlimited && : > env.txt`)
	mustVerify(t, in)
	// Control: the same kind of check asserting no limit fails.
	in.Layout = inspectionLayout(t, c, "sh", "-c", `test "$(ulimit -v)" = unlimited`)
	res, err := Verify(context.Background(), in)
	wantDenied(t, res, err, CheckInspection, "exited with 1")
}
