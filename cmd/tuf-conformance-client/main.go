// Command tuf-conformance-client is cnabsec's TUF client behind the
// command-line protocol of the TUF conformance suite
// (theupdateframework/tuf-conformance, CLIENT-CLI.md):
//
//	tuf-conformance-client --metadata-dir DIR init TRUSTED_ROOT
//	tuf-conformance-client --metadata-dir DIR --metadata-url URL refresh
//	tuf-conformance-client --metadata-dir DIR --metadata-url URL \
//	    --target-name NAME [--target-name NAME]... --target-base-url URL --target-dir DIR download
//
// It exits 0 on success and 1 on any failure (the reason goes to stderr).
// init only copies TRUSTED_ROOT to DIR/root.json. refresh and download run
// the same metadata client as `cnabsec verify` (package metadata/client: its
// HTTP fetcher, timeouts and size caps), keeping trusted metadata in DIR
// under unversioned names (root.json, timestamp.json, snapshot.json,
// targets.json, ROLE.json). download refreshes, then downloads each target
// in order with one client, stopping at the first failure; a target is
// stored as TARGET_DIR/<name, path-escaped> and not fetched again while the
// stored file still matches the trusted metadata.
//
// The reference time of every expiry check is read from `date +%s`, not
// from Go's clock: the suite fakes time with libfaketime, which intercepts
// libc in child processes, and a Go binary reads the clock without libc.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cnabsec/cnabsec/internal/atomicfile"
	"github.com/cnabsec/cnabsec/metadata/client"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// names collects a repeatable flag.
type names []string

func (n *names) String() string     { return strings.Join(*n, ",") }
func (n *names) Set(v string) error { *n = append(*n, v); return nil }

type config struct {
	metadataDir, metadataURL string
	targetBaseURL, targetDir string
	targetNames              names
	timeout                  time.Duration
	command                  string
	args                     []string
}

// parse reads the command line into a config, refusing a missing command,
// argument or flag.
func parse(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := c.flagSet(stderr)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) == 0 {
		fs.Usage()
		return nil, errors.New("no command given (init, refresh or download)")
	}
	c.command, c.args = pos[0], pos[1:]
	if c.metadataDir == "" {
		return nil, errors.New("--metadata-dir is required")
	}
	if err := c.checkCommand(); err != nil {
		return nil, err
	}
	return c, nil
}

// flagSet defines the flags, stored in c, and the usage text.
func (c *config) flagSet(stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tuf-conformance-client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.metadataDir, "metadata-dir", "", "directory of the trusted metadata (root.json, timestamp.json, ...)")
	fs.StringVar(&c.metadataURL, "metadata-url", "", "URL of the repository's metadata")
	fs.StringVar(&c.targetBaseURL, "target-base-url", "", "URL of the repository's target files")
	fs.StringVar(&c.targetDir, "target-dir", "", "directory to store downloaded targets in")
	fs.Var(&c.targetNames, "target-name", "TUF target path to download (repeatable, downloaded in order)")
	fs.DurationVar(&c.timeout, "timeout", client.DefaultTimeout, "deadline of each file download")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage:
  tuf-conformance-client --metadata-dir DIR init TRUSTED_ROOT
  tuf-conformance-client --metadata-dir DIR --metadata-url URL refresh
  tuf-conformance-client --metadata-dir DIR --metadata-url URL --target-name NAME [--target-name NAME]...
      --target-base-url URL --target-dir DIR download
Exit status: 0 success, 1 failure.
`)
		fs.PrintDefaults()
	}
	return fs
}

// parseInterleaved parses args with fs and returns the positional
// arguments: flags may come before or after the command and its argument.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// checkCommand refuses an unknown command, or one without the arguments and
// flags it needs.
func (c *config) checkCommand() error {
	switch c.command {
	case "init":
		if len(c.args) != 1 {
			return errors.New("init takes one argument: the trusted root file")
		}
		return nil
	case "refresh", "download":
		if len(c.args) != 0 {
			return fmt.Errorf("%s takes no arguments, got %q", c.command, c.args)
		}
		if c.metadataURL == "" {
			return fmt.Errorf("%s needs --metadata-url", c.command)
		}
		if c.command == "download" && (len(c.targetNames) == 0 || c.targetBaseURL == "" || c.targetDir == "") {
			return errors.New("download needs --target-name, --target-base-url and --target-dir")
		}
		return nil
	}
	return fmt.Errorf("unknown command %q (want init, refresh or download)", c.command)
}

// run runs one command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	c, err := parse(args, stderr)
	if err == nil {
		err = c.exec(context.Background(), stdout)
	}
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "tuf-conformance-client: error: %v\n", err)
		}
		return 1
	}
	return 0
}

// exec runs the command: init, or a refresh followed, for download, by the
// downloads.
func (c *config) exec(ctx context.Context, stdout io.Writer) error {
	if c.command == "init" {
		return c.init(stdout)
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.Refresh(ctx); err != nil {
		return err
	}
	if c.command == "refresh" {
		fmt.Fprintf(stdout, "refreshed %s: root v%d, timestamp v%d, snapshot v%d, targets v%d\n", c.metadataDir,
			cl.TrustedRootVersion(), cl.TrustedTimestampVersion(), cl.TrustedSnapshotVersion(), cl.TrustedTargetsVersion())
		return nil
	}
	return c.download(ctx, cl, stdout)
}

// init copies the trusted root file to DIR/root.json.
func (c *config) init(stdout io.Writer) error {
	data, err := os.ReadFile(c.args[0])
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.metadataDir, 0o700); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(c.metadataDir, "root.json"), data, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "initialized %s with trusted root %s\n", c.metadataDir, c.args[0])
	return nil
}

// download stores each target in order in the target directory, stopping
// at the first failure.
func (c *config) download(ctx context.Context, cl *client.Client, stdout io.Writer) error {
	if err := os.MkdirAll(c.targetDir, 0o755); err != nil {
		return err
	}
	for _, name := range c.targetNames {
		if err := c.downloadOne(ctx, cl, name, stdout); err != nil {
			return err
		}
	}
	return nil
}

// downloadOne stores target name as TARGET_DIR/<name, path-escaped>, unless
// the stored file still matches the trusted metadata.
func (c *config) downloadOne(ctx context.Context, cl *client.Client, name string, stdout io.Writer) error {
	file := url.PathEscape(name)
	if file == "" || file == "." || file == ".." {
		return fmt.Errorf("target %q cannot be stored as a file name", name)
	}
	path := filepath.Join(c.targetDir, file)
	info, fetched, err := cl.DownloadToFile(ctx, name, path, 0)
	if err != nil {
		return err
	}
	state := "downloaded"
	if !fetched {
		state = "already present"
	}
	fmt.Fprintf(stdout, "%s %s (%d bytes, role %s) at %s\n", state, name, info.Length, info.Role, path)
	return nil
}

// client builds the metadata client on the trusted root in the metadata
// directory, with metadata and targets read from their own URLs.
func (c *config) client() (*client.Client, error) {
	root, err := os.ReadFile(filepath.Join(c.metadataDir, "root.json"))
	if err != nil {
		return nil, fmt.Errorf("no trusted root (run init first): %w", err)
	}
	now, err := referenceTime()
	if err != nil {
		return nil, err
	}
	meta, err := client.FetcherFor(c.metadataURL, c.timeout)
	if err != nil {
		return nil, err
	}
	split := client.SplitFetcher{Metadata: meta}
	if c.targetBaseURL != "" {
		if split.Targets, err = client.FetcherFor(c.targetBaseURL, c.timeout); err != nil {
			return nil, err
		}
	}
	return client.New(client.Options{
		TrustedRoot: root,
		Location:    c.metadataURL,
		Fetcher:     split,
		MetadataDir: c.metadataDir,
		Timeout:     c.timeout,
		Now:         now,
	})
}

// referenceTime runs `date +%s` (see the package comment).
func referenceTime() (time.Time, error) {
	out, err := exec.Command("date", "+%s").Output()
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the reference time with `date +%%s`: %w", err)
	}
	sec, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("`date +%%s` printed %q: %w", strings.TrimSpace(string(out)), err)
	}
	return time.Unix(sec, 0).UTC(), nil
}
