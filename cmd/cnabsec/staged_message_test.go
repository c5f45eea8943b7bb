package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/testing/registrytest"
)

// A sign without the online keys says that the change is staged, where, and
// the command that publishes it; running that command (with the keys in
// place of the placeholders) publishes it.
func TestSignWithoutOnlineKeysPrintsTheCommandThatPublishes(t *testing.T) {
	reg := registrytest.New(t)
	img := reg.PushImage(t, "org/web:1.0", 3)
	k := genKeyFiles(t, "root", "targets", "online", "ci")
	kf := func(n string) string { return filepath.Join(k, n) }
	dir := filepath.Join(t.TempDir(), "repo")
	online := []string{"--snapshot-key", kf("online.key"), "--timestamp-key", kf("online.key")}
	if code, out, errs := runCLI(t, append([]string{"repo", "init", dir, "--root-key", kf("root.key"), "--targets-key", kf("targets.key"), "--releases-key", kf("ci.pub")}, online...)...); code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := runCLI(t, append([]string{"repo", "delegate", dir, "--name", reg.Host + "/org/web", "--key", kf("targets.key")}, online...)...); code != 0 {
		t.Fatalf("delegate: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs := runCLI(t, "sign", "image", img.Ref, "--repo", dir, "--key", kf("ci.key"))
	if code != 0 {
		t.Fatalf("sign: exit %d\n%s%s", code, out, errs)
	}
	want := "staged in " + filepath.Join(dir, "staged") + ", not yet visible to clients; to publish it:"
	if !strings.Contains(out, want) {
		t.Fatalf("sign output does not say where the change is staged:\n%s", out)
	}
	_, cmdline, ok := strings.Cut(out, "publish it: cnabsec ")
	cmdline, _, _ = strings.Cut(cmdline, "\n")
	if !ok {
		t.Fatalf("no command to publish the change:\n%s", out)
	}
	cmdline = strings.NewReplacer("SNAPSHOT_KEY", kf("online.key"), "TIMESTAMP_KEY", kf("online.key")).Replace(cmdline)
	code, out, errs = runCLI(t, strings.Fields(cmdline)...)
	if code != 0 || !strings.Contains(out, "published") {
		t.Fatalf("cnabsec %s: exit %d\n%s%s", cmdline, code, out, errs)
	}
}
