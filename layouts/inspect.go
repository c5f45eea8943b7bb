package layouts

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"strings"

	"github.com/in-toto/in-toto-golang/in_toto"

	"github.com/cnabsec/cnabsec/internal/atomicfile"
)

// maxInspectionOutput caps what an inspection's stdout and stderr keep (each).
const maxInspectionOutput = 1 << 20

// inspections runs the layout's inspections, only when allowed, and applies
// their artifact rules.
func (v *verifier) inspections(ctx context.Context, sc scope, l *in_toto.Layout, reduced map[string]in_toto.Link) bool {
	if len(l.Inspect) == 0 {
		return true
	}
	var names []string
	for _, in := range l.Inspect {
		names = append(names, in.Name)
	}
	if !v.in.AllowInspections {
		return v.add(CheckInspection, sc.subject(strings.Join(names, ", ")), Fail,
			"the layout defines %d inspection(s) that would run commands on this machine (%s); refused by default: allow inspections explicitly to run them bounded (timeout, empty environment, a fresh directory holding only the artifact)",
			len(l.Inspect), describeRuns(l.Inspect))
	}
	md := make(map[string]in_toto.Link, len(reduced)+len(l.Inspect))
	for k, m := range reduced {
		md[k] = m
	}
	ok := true
	for _, in := range l.Inspect {
		link, err := v.runInspection(ctx, in)
		if err != nil {
			ok = v.add(CheckInspection, sc.subject(in.Name), Fail, "%v", err)
			continue
		}
		md[in.Name] = *link
		v.add(CheckInspection, sc.subject(in.Name), Pass, "ran %q (timeout %s, empty environment, fresh directory): exit 0, %d product(s)", in.Run, v.in.InspectionTimeout, len(link.Products))
	}
	if !ok {
		return false
	}
	for _, in := range l.Inspect {
		ok = v.rules(sc, in.Name, in.ExpectedMaterials, in.ExpectedProducts, md) && ok
	}
	return ok
}

func describeRuns(ins []in_toto.Inspection) string {
	var parts []string
	for _, in := range ins {
		parts = append(parts, fmt.Sprintf("%s: %q", in.Name, in.Run))
	}
	return strings.Join(parts, "; ")
}

// runInspection runs one inspection in a fresh directory holding only the
// verified artifact, with an empty environment, no stdin and a timeout, and
// returns the unsigned link recording the directory before and after.
func (v *verifier) runInspection(ctx context.Context, in in_toto.Inspection) (*in_toto.Link, error) {
	dir, err := os.MkdirTemp(v.in.InspectionDir, "cnabsec-inspection-")
	if err != nil {
		return nil, fmt.Errorf("creating the inspection directory: %w", err)
	}
	defer os.RemoveAll(dir)
	if v.in.Artifact.Data != nil {
		name := path.Base(v.in.Artifact.Name)
		if checkArtifactPath(name) != nil || name == ".." {
			name = "artifact"
		}
		if err := atomicfile.WriteFile(dir+"/"+name, v.in.Artifact.Data, 0o444); err != nil {
			return nil, fmt.Errorf("placing the artifact: %w", err)
		}
	}
	mats, err := recordArtifacts(dir, []string{"."}, nil)
	if err != nil {
		return nil, err
	}
	tctx, cancel := context.WithTimeout(ctx, v.in.InspectionTimeout)
	defer cancel()
	prog, err := exec.LookPath(in.Run[0])
	if err != nil {
		return nil, fmt.Errorf("command %q could not run: %v", in.Run, err)
	}
	argv := limitArgs(append([]string{prog}, in.Run[1:]...), v.in.InspectionMemory)
	cmd := exec.CommandContext(tctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = []string{}
	cmd.Stdin = nil
	var stdout, stderr cappedBuffer
	stdout.max, stderr.max = maxInspectionOutput, maxInspectionOutput
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	bound(cmd)
	err = cmd.Run()
	killGroup(cmd)
	if tctx.Err() != nil {
		return nil, fmt.Errorf("command %q did not finish within %s", in.Run, v.in.InspectionTimeout)
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() == limitsFailed && len(argv) > len(in.Run):
		return nil, fmt.Errorf("command %q not run: its resource limits could not be set: %s", in.Run, tail(stderr.String(), 300))
	case errors.As(err, &exit):
		return nil, fmt.Errorf("command %q exited with %d: %s", in.Run, exit.ExitCode(), tail(stderr.String(), 300))
	default:
		return nil, fmt.Errorf("command %q could not run: %v", in.Run, err)
	}
	prods, err := recordArtifacts(dir, []string{"."}, nil)
	if err != nil {
		return nil, err
	}
	link := newLink(in.Name, mats, prods, map[string]any{"return-value": 0, "stdout": stdout.String(), "stderr": stderr.String()}, in.Run)
	return &link, nil
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
