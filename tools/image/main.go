// Command image builds the cnabsec container image with no container daemon
// (`make image`): cnabsec compiled with CGO_ENABLED=0 and -trimpath, alone in
// one layer with the nonroot user's /etc/passwd and /etc/group entries (no
// shell, no package manager), run as 65532:65532. Every time in it is the
// commit time (or SOURCE_DATE_EPOCH), so the same commit built with the same
// Go toolchain gives the same image digest. It writes an OCI image layout
// (default bin/image) and, with -push REF, pushes the same image to a
// registry. docs/admission.md shows how to sign and verify it before
// deploying it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// options is everything that decides the image, and where it goes.
type options struct {
	moduleDir string        // the module checkout to build from
	pkg       string        // the Go package built as /cnabsec
	version   string        // stamped as main.version (git describe)
	revision  string        // the commit, as a manifest annotation ("" when unknown)
	epoch     time.Time     // every time in the image
	platform  v1.Platform   // linux/ARCH
	caCerts   string        // a CA bundle to include ("" for none)
	out       string        // the OCI layout directory written
	push      string        // a registry reference to push to ("" for none)
	timeout   time.Duration // for the whole build and push
}

// result is what a build produced.
type result struct {
	digest v1.Hash // the image manifest's digest
	pushed string  // REF@DIGEST when pushed
}

func main() {
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	if err == nil {
		var res result
		ctx, cancel := context.WithTimeout(context.Background(), opts.timeout)
		res, err = run(ctx, opts)
		cancel()
		if err == nil {
			report(os.Stdout, opts, res)
			return
		}
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	fmt.Fprintln(os.Stderr, "image:", err)
	if fault.Is(err, fault.Input) {
		os.Exit(2)
	}
	os.Exit(1)
}

func report(w io.Writer, opts options, res result) {
	fmt.Fprintf(w, "%s: %s (cnabsec %s, %s)\n", opts.out, res.digest, opts.version, opts.platform.String())
	if res.pushed != "" {
		fmt.Fprintf(w, "pushed %s\n", res.pushed)
	}
}

// versionSyntax is what may be stamped into the binary: a git describe
// output or a tag, nothing that -ldflags would split or a shell expand.
var versionSyntax = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$`)

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var epoch, platform string
	fs.StringVar(&o.moduleDir, "C", ".", "the module checkout to build from")
	fs.StringVar(&o.pkg, "pkg", "./cmd/cnabsec", "the Go package built as /cnabsec")
	fs.StringVar(&o.version, "version", "", "the version stamped into cnabsec (default: git describe --tags --always --dirty)")
	fs.StringVar(&epoch, "source-date-epoch", os.Getenv("SOURCE_DATE_EPOCH"), "Unix time of every timestamp in the image (default: $SOURCE_DATE_EPOCH, else the commit time)")
	fs.StringVar(&platform, "platform", "linux/"+runtime.GOARCH, "the image's OS/ARCH")
	fs.StringVar(&o.caCerts, "ca-certs", "", "a PEM CA bundle to include as /etc/ssl/certs/ca-certificates.crt (default: none; the digest then depends on this file)")
	fs.StringVar(&o.out, "out", "bin/image", "the OCI image layout directory to write (replaced when it is one already)")
	fs.StringVar(&o.push, "push", "", "also push the image to this registry reference (REGISTRY/REPO:TAG)")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Minute, "for the whole build and push")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fault.Inputf("%v", err)
	}
	if fs.NArg() != 0 {
		return o, fault.Inputf("unexpected arguments %q", fs.Args())
	}
	return complete(o, epoch, platform)
}

// complete fills what the flags left to git and checks every value.
func complete(o options, epoch, platform string) (options, error) {
	var err error
	if o.version == "" {
		if o.version, err = git(o.moduleDir, "describe", "--tags", "--always", "--dirty"); err != nil {
			return o, fault.Inputf("no -version given and git describe failed: %v", err)
		}
	}
	if !versionSyntax.MatchString(o.version) {
		return o, fault.Inputf("-version %q: only letters, digits, '.', '_', '+' and '-'", o.version)
	}
	if o.epoch, err = parseEpoch(o.moduleDir, epoch); err != nil {
		return o, err
	}
	p, err := v1.ParsePlatform(platform)
	if err != nil || p.OS != "linux" || p.Architecture == "" {
		return o, fault.Inputf("-platform %q: want linux/ARCH", platform)
	}
	o.platform = *p
	o.revision, _ = git(o.moduleDir, "rev-parse", "HEAD")
	if o.timeout <= 0 {
		return o, fault.Inputf("-timeout %v: must be positive", o.timeout)
	}
	return o, nil
}

// parseEpoch reads SOURCE_DATE_EPOCH, or the commit time when it is empty:
// never the clock, which would change the digest on every build.
func parseEpoch(dir, s string) (time.Time, error) {
	if s == "" {
		var err error
		if s, err = git(dir, "log", "-1", "--format=%ct"); err != nil {
			return time.Time{}, fault.Inputf("no SOURCE_DATE_EPOCH and no commit time from git: %v", err)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > 1<<33 {
		return time.Time{}, fault.Inputf("source date epoch %q: want seconds since 1970", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

// run builds cnabsec, assembles the image, writes the layout and pushes.
func run(ctx context.Context, o options) (result, error) {
	if err := replaceable(o.out); err != nil {
		return result{}, err // before the slow build
	}
	tmp, err := os.MkdirTemp("", "cnabsec-image-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(tmp)
	bin, err := buildBinary(ctx, o, filepath.Join(tmp, "cnabsec"))
	if err != nil {
		return result{}, err
	}
	ca, err := readCACerts(o.caCerts)
	if err != nil {
		return result{}, err
	}
	img, err := assemble(bin, ca, o)
	if err != nil {
		return result{}, err
	}
	var res result
	if res.digest, err = img.Digest(); err != nil {
		return result{}, err
	}
	if err := writeLayout(o.out, img, o.version); err != nil {
		return result{}, err
	}
	if o.push != "" {
		res.pushed, err = push(ctx, o.push, img)
	}
	return res, err
}

// maxCACerts bounds the CA bundle read (a system bundle is about 200 KiB).
const maxCACerts = 4 << 20

func readCACerts(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	data, err := readCapped(path, maxCACerts)
	if err != nil {
		return nil, fault.Inputf("-ca-certs %s: %v", path, err)
	}
	if !strings.Contains(string(data), "-----BEGIN CERTIFICATE-----") {
		return nil, fault.Inputf("-ca-certs %s: no PEM certificate in it", path)
	}
	return data, nil
}

// readCapped reads a file of at most limit bytes.
func readCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}
