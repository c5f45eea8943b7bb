package layouts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/in-toto/in-toto-golang/in_toto"

	"github.com/cnabsec/cnabsec/internal/atomicfile"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/keys"
)

// maxRecordedOutput caps the stdout and stderr a link records (each).
const maxRecordedOutput = 4 << 20

// StepOptions describe one supply-chain step to record.
type StepOptions struct {
	// Name is the step name of the layout.
	Name string
	// Key signs the link; the file name carries its key ID prefix.
	Key keys.Signer
	// Materials and Products are files or directories relative to Dir,
	// recorded before and after the command.
	Materials, Products []string
	// Exclude are gitignore-style patterns of artifact names not to record.
	Exclude []string
	// Command is run in Dir (RunStep only); empty records no command.
	Command []string
	// Dir is the step's working directory ("" = the current directory).
	Dir string
	// OutDir receives the link file ("" = Dir). StartStep and StopStep keep
	// the unfinished link there too.
	OutDir string
	// Stdout and Stderr, when set, also receive the command's output.
	Stdout, Stderr io.Writer
}

// LinkFileName is in-toto's name for a step's link: STEP.<keyid[:8]>.link.
func LinkFileName(step, keyID string) string { return fmt.Sprintf(in_toto.LinkNameFormat, step, keyID) }

func unfinishedName(step, keyID string) string {
	return fmt.Sprintf(in_toto.PreliminaryLinkNameFormat, step, keyID)
}

func (o *StepOptions) check() error {
	if err := checkItemName(o.Name, map[string]bool{}); err != nil {
		return fault.Inputf("step %q: %v", o.Name, err)
	}
	if o.Key == nil {
		return fault.Inputf("step %q: no signing key", o.Name)
	}
	if o.Dir == "" {
		o.Dir = "."
	}
	if o.OutDir == "" {
		o.OutDir = o.Dir
	}
	return nil
}

// RunStep records materials, runs the command, records products and writes
// the signed link to OutDir. It returns the link and the path written. A
// command that exits non-zero is recorded (byproducts "return-value") and is
// not an error; a command that cannot be started is.
func RunStep(ctx context.Context, o StepOptions) (*in_toto.Metablock, string, error) {
	if err := o.check(); err != nil {
		return nil, "", err
	}
	mats, err := recordArtifacts(o.Dir, o.Materials, o.Exclude)
	if err != nil {
		return nil, "", fault.Inputf("step %q: materials: %w", o.Name, err)
	}
	byproducts := map[string]any{}
	if len(o.Command) > 0 {
		if byproducts, err = runCommand(ctx, o); err != nil {
			return nil, "", err
		}
	}
	prods, err := recordArtifacts(o.Dir, o.Products, o.Exclude)
	if err != nil {
		return nil, "", fault.Inputf("step %q: products: %w", o.Name, err)
	}
	link := newLink(o.Name, mats, prods, byproducts, o.Command)
	return signAndWrite(ctx, link, o, LinkFileName(o.Name, o.Key.Public().ID()))
}

// StartStep records the materials of a step performed by other means and
// writes the signed unfinished link .STEP.<keyid[:8]>.link-unfinished to
// OutDir (as in-toto-record start does).
func StartStep(ctx context.Context, o StepOptions) (*in_toto.Metablock, string, error) {
	if err := o.check(); err != nil {
		return nil, "", err
	}
	mats, err := recordArtifacts(o.Dir, o.Materials, o.Exclude)
	if err != nil {
		return nil, "", fault.Inputf("step %q: materials: %w", o.Name, err)
	}
	link := newLink(o.Name, mats, nil, nil, nil)
	return signAndWrite(ctx, link, o, unfinishedName(o.Name, o.Key.Public().ID()))
}

// StopStep reads the unfinished link StartStep wrote to OutDir (it must be
// signed by the same key and name the same step), records the products,
// writes the final signed link and removes the unfinished one.
func StopStep(ctx context.Context, o StepOptions) (*in_toto.Metablock, string, error) {
	if err := o.check(); err != nil {
		return nil, "", err
	}
	pub := o.Key.Public()
	prelim := filepath.Join(o.OutDir, unfinishedName(o.Name, pub.ID()))
	b, err := readCapped(prelim)
	if err != nil {
		return nil, "", fault.WithRemedy(fault.Inputf("step %q: unfinished link: %w", o.Name, err),
			fault.RemedyStartLink, o.Name)
	}
	env, err := parseEnvelope(b)
	if err != nil {
		return nil, "", fault.Inputf("step %q: unfinished link %s: %w", o.Name, prelim, err)
	}
	if env.link == nil || env.link.Name != o.Name {
		return nil, "", fault.Inputf("step %q: unfinished link %s is not a link for this step", o.Name, prelim)
	}
	if err := verifyEnvelopeSig(env, pub); err != nil {
		return nil, "", fault.Inputf("step %q: unfinished link %s: %v", o.Name, prelim, err)
	}
	for name := range env.link.Materials {
		if err := checkArtifactPath(name); err != nil {
			return nil, "", fault.Inputf("step %q: unfinished link %s: %v", o.Name, prelim, err)
		}
	}
	prods, err := recordArtifacts(o.Dir, o.Products, o.Exclude)
	if err != nil {
		return nil, "", fault.Inputf("step %q: products: %w", o.Name, err)
	}
	link := newLink(o.Name, env.link.Materials, prods, nil, nil)
	mb, written, err := signAndWrite(ctx, link, o, LinkFileName(o.Name, pub.ID()))
	if err != nil {
		return nil, "", err
	}
	if err := os.Remove(prelim); err != nil {
		return nil, "", fault.Inputf("step %q: link written to %s, but removing %s failed: %w", o.Name, written, prelim, err)
	}
	return mb, written, nil
}

func newLink(name string, mats, prods map[string]in_toto.HashObj, byproducts map[string]any, cmd []string) in_toto.Link {
	if mats == nil {
		mats = map[string]in_toto.HashObj{}
	}
	if prods == nil {
		prods = map[string]in_toto.HashObj{}
	}
	if byproducts == nil {
		byproducts = map[string]any{}
	}
	return in_toto.Link{
		Type:        "link",
		Name:        name,
		Materials:   mats,
		Products:    prods,
		ByProducts:  byproducts,
		Command:     nonNil(cmd),
		Environment: map[string]any{},
	}
}

func signAndWrite(ctx context.Context, link in_toto.Link, o StepOptions, file string) (*in_toto.Metablock, string, error) {
	mb := &in_toto.Metablock{Signed: link, Signatures: []in_toto.Signature{}}
	if err := signMetablock(ctx, mb, []keys.Signer{o.Key}); err != nil {
		return nil, "", fault.Inputf("step %q: %w", o.Name, err)
	}
	b, err := Marshal(mb)
	if err != nil {
		return nil, "", fault.Inputf("step %q: %w", o.Name, err)
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, "", fault.Inputf("step %q: output directory: %w", o.Name, err)
	}
	out := filepath.Join(o.OutDir, file)
	if err := atomicfile.WriteFile(out, b, 0o644); err != nil {
		return nil, "", fault.Inputf("step %q: writing %s: %w", o.Name, out, err)
	}
	return mb, out, nil
}

// runCommand runs the step command in o.Dir and returns in-toto byproducts.
func runCommand(ctx context.Context, o StepOptions) (map[string]any, error) {
	cmd := exec.CommandContext(ctx, o.Command[0], o.Command[1:]...)
	cmd.Dir = o.Dir
	var stdout, stderr cappedBuffer
	stdout.max, stderr.max = maxRecordedOutput, maxRecordedOutput
	cmd.Stdout, cmd.Stderr = tee(&stdout, o.Stdout), tee(&stderr, o.Stderr)
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		code = exit.ExitCode()
	case ctx.Err() != nil:
		return nil, fault.Inputf("step %q: command %q: %w", o.Name, o.Command, ctx.Err())
	default:
		return nil, fault.Inputf("step %q: command %q could not run: %w", o.Name, o.Command, err)
	}
	return map[string]any{
		"return-value": code,
		"stdout":       stdout.String(),
		"stderr":       stderr.String(),
	}, nil
}

func tee(buf io.Writer, w io.Writer) io.Writer {
	if w == nil {
		return buf
	}
	return io.MultiWriter(buf, w)
}

// cappedBuffer keeps the first max bytes written and silently drops the rest
// (the command's output still reaches the tee).
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); room > 0 {
		c.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func readCapped(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxMetadataSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxMetadataSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", p, MaxMetadataSize)
	}
	return b, nil
}

// verifyEnvelopeSig checks that pub signed env under its own key ID.
func verifyEnvelopeSig(env *envelope, pub *keys.PublicKey) error {
	var lastErr error = fmt.Errorf("no signature by key %s", pub.ID())
	for _, s := range env.sigs {
		if s.KeyID != pub.ID() {
			continue
		}
		sig, err := decodeHex(s.Sig)
		if err != nil {
			lastErr = err
			continue
		}
		if err := pub.Verify(env.canonical, sig); err != nil {
			lastErr = fmt.Errorf("signature by key %s does not verify: %v", pub.ID(), err)
			continue
		}
		return nil
	}
	return lastErr
}
