package layouts

import (
	"context"
	"encoding/hex"
	"fmt"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/in-toto/in-toto-golang/in_toto"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
)

// Status is the outcome of one check.
type Status string

// Check outcomes (docs/verify.md: pass|fail|skip|warn). Warn is a check
// that passed with something the reader must know (in-toto's own warnings:
// a command other than the expected one; a layout one party can satisfy alone).
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
	Warn Status = "warn"
)

// Check names, stable for reports and scripts.
const (
	CheckLayoutFormat    = "in-toto layout format"
	CheckLayoutSignature = "in-toto layout signature"
	CheckLayoutExpiry    = "in-toto layout expiry"
	CheckStepLinks       = "in-toto step links"
	CheckStepCommand     = "in-toto step command"
	CheckArtifactRules   = "in-toto artifact rules"
	CheckInspection      = "in-toto inspection"
	CheckSublayout       = "in-toto sublayout"
	CheckBinding         = "in-toto artifact binding"
	CheckLayoutParties   = "in-toto layout parties"
)

// Check is one verified property.
type Check struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Status  Status `json:"status"`
	Detail  string `json:"detail"`
}

// Result is the report of one verification: one entry per check.
type Result struct {
	Checks []Check `json:"checks"`
	// Functionaries are, per step of the root layout (and of sublayouts,
	// prefixed by their step), the key IDs whose links were counted towards
	// its threshold: the keys the provenance rests on.
	Functionaries []StepFunctionaries `json:"functionaries,omitempty"`
	// Verified is true exactly when no check failed.
	Verified bool `json:"verified"`
}

// StepFunctionaries are the functionary key IDs counted for one step.
type StepFunctionaries struct {
	Step   string   `json:"step"`
	KeyIDs []string `json:"keyIDs"`
}

// FirstFailure returns the first failed check, or nil.
func (r *Result) FirstFailure() *Check {
	for i := range r.Checks {
		if r.Checks[i].Status == Fail {
			return &r.Checks[i]
		}
	}
	return nil
}

// ArtifactBinding names the artifact the provenance must be about: its sha256
// must be a product of the layout's last step.
type ArtifactBinding struct {
	// Name is the file name inspections see the artifact under ("bundle.json").
	Name string
	// SHA256 is the hex sha256 of the artifact bytes (a bundle.json, a thick
	// bundle archive, or an image manifest).
	SHA256 string
	// Data are the artifact bytes, needed only to run inspections; when set,
	// their sha256 must equal SHA256.
	Data []byte
}

// VerifyInput is everything one verification uses. Nothing is read from the
// file system except what inspections, when allowed, produce.
type VerifyInput struct {
	// Layout is the root layout file as obtained (via TUF).
	Layout []byte
	// LayoutName names the layout in reports (default "root.layout").
	LayoutName string
	// LayoutKeys are the layout owners' keys (from the top-level targets
	// role); every one of them must have signed the layout.
	LayoutKeys []*keys.PublicKey
	// Links maps link file names (STEP.KEYID8.link, and for sublayouts
	// STEP.KEYID8/SUBSTEP.KEYID8.link) to their bytes.
	Links map[string][]byte
	// Artifact is what the provenance must be about.
	Artifact ArtifactBinding
	// Now is the time expiry is checked against.
	Now time.Time
	// AllowInspections runs the layout's inspection commands (bounded: a
	// timeout, memory and file size limits, a fresh directory holding only
	// the artifact, an empty environment, no stdin). Without it a layout
	// with inspections fails.
	AllowInspections bool
	// InspectionTimeout bounds each inspection (default 1 minute).
	InspectionTimeout time.Duration
	// InspectionDir is where inspection directories are created (default
	// the system temporary directory).
	InspectionDir string
	// InspectionMemory caps each inspection's virtual memory in bytes
	// (default DefaultInspectionMemory).
	InspectionMemory int64
	// CIKeyIDs are the keys of the online CI role (the TUF releases
	// delegation): a layout whose steps they alone can fill with new bytes
	// gets a warning (PartyWarnings, RuleCIAlone).
	CIKeyIDs []string
	// MaxJSONValues bounds the JSON values of the layout and links together,
	// counted before anything is parsed (default DefaultMaxJSONValues).
	MaxJSONValues int
}

// maxSublayoutDepth bounds sublayout recursion.
const maxSublayoutDepth = 3

// DefaultInspectionTimeout bounds one inspection when the input names none.
const DefaultInspectionTimeout = time.Minute

// DefaultInspectionMemory caps one inspection's virtual memory (4 GiB).
const DefaultInspectionMemory = 4 << 30

// Verify checks an in-toto layout and its links without executing anything
// (unless inspections are allowed) and binds them to the artifact. The error
// is nil exactly when every check passed; a failed verification is a
// fault.Denied error naming the first failed check, malformed arguments are
// fault.Input. The result is returned in both cases (nil only for Input).
func Verify(ctx context.Context, in VerifyInput) (*Result, error) {
	if in.Now.IsZero() {
		return nil, fault.Inputf("in-toto verification: no verification time given")
	}
	if len(in.Layout) == 0 {
		return nil, fault.Inputf("in-toto verification: no layout given")
	}
	sum := strings.ToLower(strings.TrimPrefix(in.Artifact.SHA256, "sha256:"))
	if b, err := hex.DecodeString(sum); err != nil || len(b) != 32 {
		return nil, fault.Inputf("in-toto verification: artifact sha256 %q is not 64 hex digits", in.Artifact.SHA256)
	}
	in.Artifact.SHA256 = sum
	if in.Artifact.Data != nil && sha256Hex(in.Artifact.Data) != sum {
		return nil, fault.Inputf("in-toto verification: the artifact bytes given have sha256 %s, not %s", sha256Hex(in.Artifact.Data), sum)
	}
	if in.Artifact.Name == "" {
		in.Artifact.Name = "artifact"
	}
	if in.LayoutName == "" {
		in.LayoutName = "root.layout"
	}
	if in.InspectionTimeout <= 0 {
		in.InspectionTimeout = DefaultInspectionTimeout
	}
	if res, err := checkJSONValues(in); err != nil {
		return res, err
	}
	shared := &hashObjects{}
	v := &verifier{in: in, res: &Result{}, parsed: parseLinks(in.Links, shared), shared: shared}
	summary := v.layout(ctx, scope{layoutName: in.LayoutName}, in.Layout, in.LayoutKeys, in.Links)
	if summary != nil {
		v.binding(summary)
	}
	if f := v.res.FirstFailure(); f != nil {
		return v.res, fault.Deniedf("%s: %s: %s", f.Name, f.Subject, f.Detail)
	}
	v.res.Verified = true
	return v.res, nil
}

type verifier struct {
	in     VerifyInput
	res    *Result
	parsed map[bytesID]parsedFile
	shared *hashObjects // the sha256-only hash objects of all its links
}

// bytesID identifies a byte slice by its memory (start and length), so that
// the parse of one link file is never returned for another.
type bytesID struct {
	p *byte
	n int
}

func idOf(b []byte) bytesID { return bytesID{&b[0], len(b)} }

type parsedFile struct {
	env *envelope
	err error
}

// parallelParseBytes is the total size of link files above which they are
// parsed concurrently (below it, starting goroutines costs more than it saves).
var parallelParseBytes = 256 << 10

// parseLinks parses every link file concurrently (one worker per CPU): with
// links recording many artifacts, parsing is most of the work.
func parseLinks(links map[string][]byte, shared *hashObjects) map[bytesID]parsedFile {
	type job struct {
		key bytesID
		b   []byte
	}
	out := make(map[bytesID]parsedFile, len(links))
	total := 0
	for _, b := range links {
		total += len(b)
	}
	if total < parallelParseBytes {
		return out // parsed when used, on the caller's goroutine
	}
	jobs := make(chan job)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range max(1, min(runtime.GOMAXPROCS(0), len(links))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				env, err := parseEnvelopeSharing(j.b, shared)
				mu.Lock()
				out[j.key] = parsedFile{env, err}
				mu.Unlock()
			}
		}()
	}
	for name, b := range links {
		if len(b) > 0 && strings.HasSuffix(name, ".link") {
			jobs <- job{idOf(b), b}
		}
	}
	close(jobs)
	wg.Wait()
	return out
}

// parse returns the parsed form of a link file given in the input.
func (v *verifier) parse(b []byte) (*envelope, error) {
	if len(b) > 0 {
		if p, ok := v.parsed[idOf(b)]; ok {
			return p.env, p.err
		}
	}
	return parseEnvelopeSharing(b, v.shared)
}

// scope places a (sub)layout in reports.
type scope struct {
	prefix     string // "" for the root layout, "STEP.KEYID8/" inside a sublayout
	layoutName string
	depth      int
}

func (s scope) subject(x string) string { return s.prefix + x }

func (v *verifier) add(name, subject string, st Status, format string, args ...any) bool {
	v.res.Checks = append(v.res.Checks, Check{Name: name, Subject: subject, Status: st, Detail: fmt.Sprintf(format, args...)})
	return st != Fail
}

// layout verifies one (sub)layout and returns its summary link (materials of
// its first step, products of its last), or nil when it did not verify.
func (v *verifier) layout(ctx context.Context, sc scope, raw []byte, owners []*keys.PublicKey, links map[string][]byte) *in_toto.Link {
	pl := cachedLayout(raw)
	if pl.err != nil {
		v.add(CheckLayoutFormat, sc.layoutName, Fail, "%v", pl.err)
		return nil
	}
	if !v.layoutSignatures(sc, pl, owners) {
		return nil
	}
	l := pl.env.layout
	lkeys, err := pl.validated()
	if err != nil {
		v.add(CheckLayoutFormat, sc.layoutName, Fail, "%v", err)
		return nil
	}
	v.add(CheckLayoutFormat, sc.layoutName, Pass, "%d step(s), %d inspection(s), %d functionary key(s)", len(l.Steps), len(l.Inspect), len(l.Keys))
	for _, w := range PartyWarnings(l, v.in.CIKeyIDs) {
		v.add(CheckLayoutParties, sc.layoutName, Warn, "%s", w.String())
	}

	ok := true
	expires, _ := time.Parse(expiresFormat, l.Expires)
	if !v.in.Now.Before(expires) {
		ok = v.add(CheckLayoutExpiry, sc.layoutName, Fail, "the layout expired at %s (verification time %s)", l.Expires, v.in.Now.UTC().Format(time.RFC3339))
	} else {
		v.add(CheckLayoutExpiry, sc.layoutName, Pass, "valid until %s", l.Expires)
	}

	reduced := map[string]in_toto.Link{}
	stepsOK := true
	for _, step := range l.Steps {
		link := v.step(ctx, sc, l, lkeys, step, links)
		if link == nil {
			stepsOK = false
			continue
		}
		reduced[step.Name] = *link
	}
	if !stepsOK {
		v.add(CheckArtifactRules, sc.subject("all steps"), Skip, "not evaluated: the links of some steps did not verify")
		return nil
	}
	for _, step := range l.Steps {
		ok = v.rules(sc, step.Name, step.ExpectedMaterials, step.ExpectedProducts, reduced) && ok
	}
	ok = v.inspections(ctx, sc, l, reduced) && ok
	if !ok {
		return nil
	}
	first := reduced[l.Steps[0].Name]
	last := reduced[l.Steps[len(l.Steps)-1].Name]
	return &in_toto.Link{
		Type:       "link",
		Materials:  first.Materials,
		Products:   last.Products,
		ByProducts: last.ByProducts,
		Command:    last.Command,
	}
}

func (v *verifier) layoutSignatures(sc scope, pl *layoutEntry, owners []*keys.PublicKey) bool {
	var distinct []*keys.PublicKey
	for _, k := range owners {
		if k == nil {
			continue
		}
		dup := false
		for _, d := range distinct {
			dup = dup || d.Equal(k)
		}
		if !dup {
			distinct = append(distinct, k)
		}
	}
	if len(distinct) == 0 {
		return v.add(CheckLayoutSignature, sc.layoutName, Fail, "no layout keys to verify the layout with")
	}
	ok := true
	for _, k := range distinct {
		subject := sc.layoutName + " key " + k.ID()
		if err := pl.checkSignature(k); err != nil {
			ok = v.add(CheckLayoutSignature, subject, Fail, "%v", err) && ok
		} else {
			v.add(CheckLayoutSignature, subject, Pass, "signed by layout key %s", k.ID())
		}
	}
	return ok
}

// acceptedLink is a link of a step signed by one of its functionaries.
type acceptedLink struct {
	file  string
	keyID string
	key   *keys.PublicKey
	link  in_toto.Link
	sub   bool // evidence is a verified sublayout (its command is not compared)
}

// step verifies the links of one step: functionary signatures, a threshold of
// distinct public keys, agreement between them. It returns the reduced link.
func (v *verifier) step(ctx context.Context, sc scope, l *in_toto.Layout, lkeys map[string]*keys.PublicKey, step in_toto.Step, links map[string][]byte) *in_toto.Link {
	subject := sc.subject(step.Name)
	files := stepLinkFiles(links, step.Name)
	var t linkTally
	for _, file := range files {
		v.judgeLink(ctx, sc, step, lkeys, links, file, &t)
	}
	why := t.ignoredText()
	switch {
	case len(t.bad) > 0:
		v.add(CheckStepLinks, subject, Fail, "refused link(s) signed by functionaries of step %q: %s%s", step.Name, strings.Join(t.bad, "; "), why)
		return nil
	case len(files) == 0:
		v.add(CheckStepLinks, subject, Fail, "no link file for step %q (want %s.<keyid[:8]>.link signed by %d of its functionaries)", step.Name, step.Name, step.Threshold)
		return nil
	case len(t.accepted) < step.Threshold:
		v.add(CheckStepLinks, subject, Fail, "step %q requires links signed by %d distinct functionary key(s), found %d%s", step.Name, step.Threshold, len(t.accepted), why)
		return nil
	}
	ref := t.accepted[0]
	for _, a := range t.accepted[1:] {
		if !reflect.DeepEqual(a.link.Materials, ref.link.Materials) || !reflect.DeepEqual(a.link.Products, ref.link.Products) {
			v.add(CheckStepLinks, subject, Fail, "links %s and %s of step %q record different artifacts", ref.file, a.file, step.Name)
			return nil
		}
	}
	var names []string
	for _, a := range t.accepted {
		names = append(names, a.file)
	}
	v.add(CheckStepLinks, subject, Pass, "%d of %d required distinct functionary key(s): %s%s", len(t.accepted), step.Threshold, strings.Join(names, ", "), why)
	v.recordFunctionaries(subject, t.accepted)
	v.commandWarnings(subject, step, t.accepted)
	out := ref.link
	return &out
}

// stepLinkFiles are the link files named after the step, sorted.
func stepLinkFiles(links map[string][]byte, step string) []string {
	var files []string
	for name := range links {
		if isLinkFileFor(name, step) {
			files = append(files, name)
		}
	}
	sort.Strings(files)
	return files
}

// linkTally sorts a step's link files: accepted (counted towards the
// threshold), ignored (not a functionary's, or a duplicate key) and bad
// (a functionary's link that must not verify: it denies).
type linkTally struct {
	accepted     []acceptedLink
	ignored, bad []string
}

func (t *linkTally) ignoredText() string {
	ignored := t.ignored
	if len(ignored) > 10 {
		ignored = append(ignored[:10:10], fmt.Sprintf("and %d more", len(t.ignored)-10))
	}
	if len(ignored) == 0 {
		return ""
	}
	return " (ignored: " + strings.Join(ignored, "; ") + ")"
}

// judgeLink reads one link file of the step: a functionary's signature, the
// step it is for (or a sublayout that verifies), and one link per key.
func (v *verifier) judgeLink(ctx context.Context, sc scope, step in_toto.Step, lkeys map[string]*keys.PublicKey, links map[string][]byte, file string, t *linkTally) {
	short := strings.TrimSuffix(strings.TrimPrefix(file, step.Name+"."), ".link")
	env, err := v.parse(links[file])
	if err != nil {
		t.ignored = append(t.ignored, fmt.Sprintf("%s: unreadable: %v", file, err))
		return
	}
	keyID, key, err := functionarySignature(env, step, lkeys, short)
	if err != nil {
		t.ignored = append(t.ignored, fmt.Sprintf("%s: %v", file, err))
		return
	}
	link, ok := v.linkOf(ctx, sc, step, env, file, keyID, key, links, t)
	if !ok {
		return
	}
	for _, a := range t.accepted {
		if a.key.Equal(key) {
			t.ignored = append(t.ignored, fmt.Sprintf("%s: signed by key %s, the same public key as %s already counted", file, keyID, a.keyID))
			return
		}
	}
	t.accepted = append(t.accepted, acceptedLink{file: file, keyID: keyID, key: key, link: link, sub: env.layout != nil})
}

// linkOf is the link a functionary's file stands for: the link itself, or
// the summary of the sublayout it signed.
func (v *verifier) linkOf(ctx context.Context, sc scope, step in_toto.Step, env *envelope, file, keyID string, key *keys.PublicKey, links map[string][]byte, t *linkTally) (in_toto.Link, bool) {
	if env.layout != nil {
		sub := v.sublayout(ctx, sc, step, file, keyID, key, links)
		if sub == nil {
			t.bad = append(t.bad, fmt.Sprintf("%s: the sublayout signed by functionary %s did not verify", file, keyID))
			return in_toto.Link{}, false
		}
		link := *sub
		link.Name = step.Name
		return link, true
	}
	link := *env.link
	if link.Name != step.Name {
		t.ignored = append(t.ignored, fmt.Sprintf("%s: signed link is for step %q, not %q", file, link.Name, step.Name))
		return link, false
	}
	if err := env.artifactErr; err != nil {
		t.bad = append(t.bad, fmt.Sprintf("%s (signed by functionary %s): %v", file, keyID, err))
		return link, false
	}
	return link, true
}

// recordFunctionaries keeps the key IDs counted for a step.
func (v *verifier) recordFunctionaries(subject string, accepted []acceptedLink) {
	ids := make([]string, 0, len(accepted))
	for _, a := range accepted {
		ids = append(ids, a.keyID)
	}
	sort.Strings(ids)
	v.res.Functionaries = append(v.res.Functionaries, StepFunctionaries{Step: subject, KeyIDs: ids})
}

// commandWarnings reports each link whose command differs from the step's
// expected_command: in-toto warns and does not deny; neither do we, but the
// reader sees it.
func (v *verifier) commandWarnings(subject string, step in_toto.Step, accepted []acceptedLink) {
	want := strings.Join(step.ExpectedCommand, " ")
	for _, a := range accepted {
		if got := strings.Join(a.link.Command, " "); got != want && !a.sub {
			v.add(CheckStepCommand, subject, Warn, "%s ran %q, the layout expects %q (a warning, as in-toto specifies: not enforced)", a.file, got, want)
		}
	}
}

// isLinkFileFor reports whether name is STEP.<8 hex>.link.
func isLinkFileFor(name, step string) bool {
	rest, ok := strings.CutPrefix(name, step+".")
	if !ok {
		return false
	}
	short, ok := strings.CutSuffix(rest, ".link")
	return ok && len(short) == 8 && isHex(short) && strings.ToLower(short) == short
}

// functionarySignature finds a valid signature on env by a functionary of
// step whose key ID starts with the file name's key ID prefix.
func functionarySignature(env *envelope, step in_toto.Step, lkeys map[string]*keys.PublicKey, short string) (string, *keys.PublicKey, error) {
	var signers []string
	var failures []string
	for _, s := range env.sigs {
		signers = append(signers, s.KeyID)
		if !strings.HasPrefix(s.KeyID, short) {
			continue
		}
		authorized := false
		for _, id := range step.PubKeys {
			authorized = authorized || id == s.KeyID
		}
		if !authorized {
			continue
		}
		key := lkeys[s.KeyID]
		sig, err := decodeHex(s.Sig)
		if err == nil {
			err = key.Verify(env.canonical, sig)
		}
		if err != nil {
			failures = append(failures, fmt.Sprintf("signature by functionary %s does not verify: %v", s.KeyID, err))
			continue
		}
		return s.KeyID, key, nil
	}
	if len(failures) > 0 {
		return "", nil, fmt.Errorf("%s", strings.Join(failures, "; "))
	}
	if len(signers) == 0 {
		return "", nil, fmt.Errorf("unsigned")
	}
	return "", nil, fmt.Errorf("signed by key(s) %s, not by a functionary of step %q whose key ID starts with %s", strings.Join(signers, ", "), step.Name, short)
}

// sublayout verifies a sublayout that a functionary signed as its step's
// evidence; its links live under STEP.KEYID8/.
func (v *verifier) sublayout(ctx context.Context, sc scope, step in_toto.Step, file, keyID string, key *keys.PublicKey, links map[string][]byte) *in_toto.Link {
	dir := fmt.Sprintf(in_toto.SublayoutLinkDirFormat, step.Name, keyID) + "/"
	subject := sc.subject(step.Name)
	if sc.depth+1 > maxSublayoutDepth {
		v.add(CheckSublayout, subject, Fail, "%s: sublayouts nest deeper than %d levels", file, maxSublayoutDepth)
		return nil
	}
	sub := map[string][]byte{}
	for name, b := range links {
		if rest, ok := strings.CutPrefix(name, dir); ok {
			sub[rest] = b
		}
	}
	inner := scope{prefix: sc.prefix + dir, layoutName: sc.prefix + file, depth: sc.depth + 1}
	summary := v.layout(ctx, inner, links[file], []*keys.PublicKey{key}, sub)
	if summary == nil {
		v.add(CheckSublayout, subject, Fail, "%s: the sublayout did not verify (see the checks under %s)", file, inner.prefix)
		return nil
	}
	v.add(CheckSublayout, subject, Pass, "%s: verified with its %d link file(s) under %s", file, len(sub), inner.prefix)
	return summary
}

// rules applies the artifact rules of one step or inspection to its link and
// reports materials and products apart.
func (v *verifier) rules(sc scope, name string, mats, prods [][]string, links map[string]in_toto.Link) bool {
	matErr, prodErr := itemRules(mats, prods, links[name], links)
	ok := true
	for _, part := range []struct {
		kind  string
		rules [][]string
		err   error
	}{{"materials", mats, matErr}, {"products", prods, prodErr}} {
		subject := sc.subject(name + " " + part.kind)
		if part.err != nil {
			ok = v.add(CheckArtifactRules, subject, Fail, "%v", part.err) && ok
		} else {
			v.add(CheckArtifactRules, subject, Pass, "%d rule(s) satisfied", len(part.rules))
		}
	}
	return ok
}

// binding checks that the artifact is a product of the layout's last step.
func (v *verifier) binding(summary *in_toto.Link) {
	subject := v.in.Artifact.Name
	var names []string
	for name, h := range summary.Products {
		if strings.EqualFold(h["sha256"], v.in.Artifact.SHA256) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		v.add(CheckBinding, subject, Fail, "the artifact (sha256 %s) is not a product of the layout's last step (its link records %d product(s), none with this digest): the provenance is about something else", v.in.Artifact.SHA256, len(summary.Products))
		return
	}
	sort.Strings(names)
	v.add(CheckBinding, subject, Pass, "sha256 %s is product %s of the last step", v.in.Artifact.SHA256, strings.Join(names, ", "))
}

func decodeHex(s string) ([]byte, error) { return hex.DecodeString(s) }
