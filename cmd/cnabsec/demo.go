package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/urfave/cli/v2"

	"github.com/cnabsec/cnabsec/bundle/oci"
	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/internal/testing/scenario"
	"github.com/cnabsec/cnabsec/metadata"
	"github.com/cnabsec/cnabsec/signer"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run the whole pipeline on an embedded registry and a temporary repository (no network)",
		UsageText: `cnabsec demo [--keep DIR]

Starts an OCI registry on 127.0.0.1, generates keys, creates a TUF repository,
pushes two images and a bundle, records in-toto steps, signs everything, verifies
the bundle at level 4, then shows attacks being denied with their reasons.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "keep", Usage: "work in `DIR` and keep it (default: a temporary directory, removed)"},
		},
		Action: runDemo,
	}
}

type demo struct {
	c     *cli.Context
	w     io.Writer
	s     *scenario.Scenario
	step  int
	fails int
}

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.w, format+"\n", args...) }

func (d *demo) section(title string) {
	d.step++
	d.say("\n== %d. %s", d.step, title)
}

// cnabsec runs a cnabsec command line as a user would and returns its exit code.
func (d *demo) cnabsec(args ...string) int {
	shown := make([]string, len(args))
	for i, a := range args {
		shown[i] = strings.ReplaceAll(a, d.s.Dir+"/", "")
	}
	d.say("$ cnabsec %s", strings.Join(shown, " "))
	return run(append([]string{"cnabsec"}, args...), strings.NewReader(""), d.w, d.w)
}

// runDemo builds a signed release on an embedded registry, verifies it, then
// shows attacks on it being denied.
func runDemo(c *cli.Context) error {
	d := &demo{c: c, w: c.App.Writer}
	dir, cleanup, err := demoDir(c.String("keep"))
	if err != nil {
		return err
	}
	defer cleanup()
	host, stop, err := startDemoRegistry()
	if err != nil {
		return err
	}
	defer stop()

	d.say("cnabsec demo: a CNAB release signed with TUF and in-toto, verified, then attacked.")
	d.say("Working directory %s; an OCI registry runs in this process on %s.", dir, host)
	if err := d.publish(dir, host); err != nil {
		return err
	}
	if err := d.verifyRelease(); err != nil {
		return err
	}

	d.section("Attacks, each denied with its reason")
	d.attack("links of version 1.0 replayed for a version 2.0 that CI was tricked into signing", d.replayLinks, "--level", "4")
	cache, old := filepath.Join(dir, "cache"), filepath.Join(dir, "repo-yesterday")
	d.attack("a mirror serves yesterday's timestamp to an operator whose cache has seen today's", func() (string, error) {
		return d.freezeMirror(cache, old)
	}, "--cache", cache, "--metadata", old)
	d.attack("the bundle's tag moved to other content in the registry", d.moveBundleTag)
	d.attack("an image replaced in the registry under the same tag", d.replaceImage)

	if d.fails > 0 {
		return fault.Deniedf("demo: %d attack(s) were not denied", d.fails)
	}
	d.say("\nAll attacks were denied. Everything ran on loopback in %s.", dir)
	return nil
}

// demoDir is the demo's working directory: keep (created if need be), or a
// temporary directory that cleanup removes.
func demoDir(keep string) (dir string, cleanup func(), err error) {
	if keep != "" {
		if err := os.MkdirAll(keep, 0o755); err != nil {
			return "", nil, fault.Inputf("demo: %w", err)
		}
		return keep, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "cnabsec-demo-")
	if err != nil {
		return "", nil, fault.Inputf("demo: %w", err)
	}
	return tmp, func() { os.RemoveAll(tmp) }, nil
}

// startDemoRegistry runs an in-memory OCI registry on loopback and returns
// its host:port.
func startDemoRegistry() (host string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fault.Inputf("demo: cannot listen on loopback: %w", err)
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return ln.Addr().String(), func() { srv.Close() }, nil
}

// publish builds the release as a publisher would and shows the repository.
func (d *demo) publish(dir, host string) error {
	d.section("Publisher: keys, repository, images, bundle, provenance, signatures")
	start := time.Now()
	s, err := scenario.Build(d.c.Context, scenario.Options{Dir: dir, Registry: host, Provenance: true,
		Log: func(format string, args ...any) { d.say("  - "+format, args...) }})
	if err != nil {
		return fmt.Errorf("demo: building the release: %w", err)
	}
	d.s = s
	d.say("  (%.1fs)", time.Since(start).Seconds())

	d.section("The repository as its publisher sees it")
	d.cnabsec("repo", "status", s.RepoDir)
	return nil
}

// verifyArgs is the verify command line for ref against the release's
// pinned root and repository, with extra flags.
func (d *demo) verifyArgs(ref string, extra ...string) []string {
	root := filepath.Join(d.s.RepoDir, "metadata", "1.root.json")
	return append([]string{"verify", ref, "--trust-root", root, "--metadata", d.s.RepoDir}, extra...)
}

// verifyRelease verifies the honest release at level 4 as an operator would,
// then once more handing the verified bytes to a runtime.
func (d *demo) verifyRelease() error {
	d.section("Operator: verify the bundle at level 4 (bundle and images signed, with provenance)")
	if code := d.cnabsec(d.verifyArgs(d.s.BundleRef, "--level", "4")...); code != 0 {
		return fault.Deniedf("demo: the honest release did not verify (exit %d)", code)
	}

	d.section("Hand-off: the runtime only ever sees the verified bytes")
	if _, err := exec.LookPath("sh"); err == nil {
		d.cnabsec(append(d.verifyArgs(d.s.BundleRef, "--level", "4"), "--", "sh", "-c", `echo "runtime got $CNABSEC_BUNDLE_DIGEST ($(wc -c < "$CNABSEC_BUNDLE") bytes)"`)...)
	}
	return nil
}

// replayLinks signs a version 2.0 with the links recorded for 1.0.
func (d *demo) replayLinks() (string, error) {
	s := d.s
	v2, err := scenario.BundleJSON("app", "2.0", s.InstallerRef, s.InstallerDigest, s.WebRef, s.WebDigest)
	if err != nil {
		return "", err
	}
	p := filepath.Join(s.WorkDir, "bundle-2.0.json")
	if err := os.WriteFile(p, v2, 0o644); err != nil {
		return "", err
	}
	ref := s.App + ":2.0"
	_, err = signer.Sign(d.c.Context, s.Repo, s.Signing("releases"), signer.Item{Kind: "bundle", Ref: ref, File: p, Push: true, Links: filepath.Join(s.WorkDir, "bundle-links")})
	return ref, err
}

// freezeMirror copies today's repository to old, refreshes the real one and
// fills the operator's cache with it: old then serves yesterday's timestamp.
func (d *demo) freezeMirror(cache, old string) (string, error) {
	s := d.s
	if err := copyDir(s.RepoDir, old); err != nil {
		return "", err
	}
	if _, err := s.Repo.Refresh(d.c.Context, metadata.RefreshOptions{Snapshot: s.Keys["snapshot"], Timestamp: s.Keys["timestamp"]}); err != nil {
		return "", err
	}
	d.say("  (the operator verifies once against today's metadata, filling --cache)")
	if code := run(append([]string{"cnabsec"}, d.verifyArgs(s.BundleRef, "--cache", cache)...), strings.NewReader(""), io.Discard, io.Discard); code != 0 {
		return "", fmt.Errorf("verification with today's metadata failed (exit %d)", code)
	}
	return s.BundleRef, nil
}

// moveBundleTag pushes a bundle with a backdoor under the release's tag.
func (d *demo) moveBundleTag() (string, error) {
	s := d.s
	evil, err := scenario.BundleJSON("app", "1.0", s.InstallerRef, s.InstallerDigest, s.WebRef, s.WebDigest)
	if err != nil {
		return "", err
	}
	evil = []byte(strings.Replace(string(evil), "a demo application", "a demo application, with a backdoor", 1))
	r, _ := name.ParseReference(s.BundleRef)
	_, err = oci.PushBundle(d.c.Context, evil, r, oci.Options{})
	return s.BundleRef, err
}

// replaceImage restores the bundle's tag, then pushes another image under
// the web image's tag.
func (d *demo) replaceImage() (string, error) {
	s := d.s
	orig, _ := name.ParseReference(s.BundleRef)
	if _, err := oci.PushBundle(d.c.Context, s.BundleJSON, orig, oci.Options{}); err != nil { // undo the previous attack
		return "", err
	}
	img, err := scenario.RandomImage(666)
	if err != nil {
		return "", err
	}
	_, err = scenario.PushImage(s.WebRef, img)
	return s.BundleRef, err
}

// attack sets up an attack, runs verify on the reference it returns (with
// extra flags) and expects exit 1.
func (d *demo) attack(title string, setup func() (string, error), extra ...string) {
	d.say("\n-- attack: %s", title)
	ref, err := setup()
	if err != nil {
		d.say("  setting up the attack failed: %v", err)
		d.fails++
		return
	}
	args := d.attackArgs(ref, extra)
	var out strings.Builder
	shown := strings.ReplaceAll(strings.Join(args, " "), d.s.Dir+"/", "")
	d.say("$ cnabsec %s", shown)
	code := run(append([]string{"cnabsec"}, args...), strings.NewReader(""), &out, &out)
	d.showDenial(out.String())
	if code != 1 {
		d.say("  NOT DENIED (exit %d)", code)
		d.fails++
		return
	}
	d.say("  => denied (exit 1)")
}

// attackArgs is the verify command line for an attacked ref: the pinned
// root, the repository unless extra names other metadata, then extra.
func (d *demo) attackArgs(ref string, extra []string) []string {
	root := filepath.Join(d.s.RepoDir, "metadata", "1.root.json")
	args := []string{"verify", ref, "--trust-root", root}
	hasMeta := false
	for _, e := range extra {
		hasMeta = hasMeta || e == "--metadata"
	}
	if !hasMeta {
		args = append(args, "--metadata", d.s.RepoDir)
	}
	return append(args, extra...)
}

// showDenial prints the lines of verify's output that say why it denied:
// the failed checks (not the summary lines per bundle, image or metadata)
// with their continuation lines, and the verdict.
func (d *demo) showDenial(out string) {
	shownLine := false // a failure's continuation lines follow it
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		cont := strings.HasPrefix(line, "      ") && shownLine
		shownLine = cont || strings.HasPrefix(line, "FAIL  ") && !strings.HasPrefix(line, "FAIL  bundle ") &&
			!strings.HasPrefix(line, "FAIL  image ") && !strings.HasPrefix(line, "FAIL  metadata ") || strings.HasPrefix(line, "DENIED")
		if shownLine {
			d.say("  %s", line)
		}
	}
}

// copyDir copies the regular files and directories under src to dst.
func copyDir(src, dst string) error {
	return filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
}
