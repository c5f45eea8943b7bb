package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/verifier"
)

const (
	signedDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	evilDigest   = "sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
)

// movableTagFake signs webRef's content signedDigest, which the registry
// serves for the tag until a test moves it.
func movableTagFake() *fakeVerifier {
	table := allSigned()
	table[webRef] = entry{achieved: verifier.Level2, digest: signedDigest}
	f := newFake(table)
	f.moveTag(webRef, signedDigest)
	return f
}

// A verdict is cached by content, not by tag: a tag moved to other content
// after a "verified" verdict is verified again, and denied.
func TestAdmissionTagMovedAfterACachedVerdictIsVerifiedAgainAndDenied(t *testing.T) {
	f := movableTagFake()
	s := newTestService(t, f, Options{})
	if resp := admitReview(t, s, readReview(t, "deployment")); !resp.Allowed {
		t.Fatalf("signed content: %+v", resp.Result)
	}
	if resp := admitReview(t, s, readReview(t, "deployment")); !resp.Allowed || f.calls(webRef) != 1 {
		t.Fatalf("same content again: allowed %v after %d verifications of %s (want 1, from the cache)", resp.Allowed, f.calls(webRef), webRef)
	}
	f.moveTag(webRef, evilDigest)
	resp := admitReview(t, s, readReview(t, "deployment"))
	if resp.Allowed || !strings.Contains(resp.Result.Message, "content "+evilDigest+" read from registry.example.com/app/web@"+evilDigest+" does not match the signed target") {
		t.Fatalf("moved tag: %+v", resp.Result)
	}
	if f.calls(webRef) != 2 {
		t.Fatalf("%d verifications of %s; the moved tag must be verified again", f.calls(webRef), webRef)
	}
}

func TestVerifyEndpointTagMovedAfterACachedVerdictIsDenied(t *testing.T) {
	f := movableTagFake()
	s := newTestService(t, f, Options{})
	body := `{"reference":"` + webRef + `","image":true}`
	if code, rep := verifyCall(t, s, body); code != http.StatusOK || !rep.Verified {
		t.Fatalf("signed content: HTTP %d %+v", code, rep)
	}
	f.moveTag(webRef, evilDigest)
	code, rep := verifyCall(t, s, body)
	if code != http.StatusOK || rep.Verified || !strings.Contains(rep.Error, "does not match the signed target") {
		t.Fatalf("moved tag: HTTP %d %+v", code, rep)
	}
}

// The tag cannot be read (registry down): no cached verdict answers for it;
// the review is denied as inconclusive, saying why.
func TestAdmissionTagOfAnUnreachableRegistryIsAnInconclusiveDenial(t *testing.T) {
	f := movableTagFake()
	s := newTestService(t, f, Options{})
	if resp := admitReview(t, s, readReview(t, "deployment")); !resp.Allowed {
		t.Fatalf("signed content: %+v", resp.Result)
	}
	f.mu.Lock()
	f.resolveErr = fault.Inconclusivef("registry.example.com: dial tcp: connection refused")
	f.mu.Unlock()
	resp := admitReview(t, s, readReview(t, "deployment"))
	if resp.Allowed || !strings.Contains(resp.Result.Message, "inconclusive: reading which content tag "+webRef+" names now: registry.example.com: dial tcp: connection refused") {
		t.Fatalf("registry down: %+v", resp.Result)
	}
}

func TestVerifyEndpointTagOfAnUnreachableRegistryIs503(t *testing.T) {
	f := movableTagFake()
	f.resolveErr = fault.Inconclusivef("registry.example.com: i/o timeout")
	s := newTestService(t, f, Options{})
	code, rep := verifyCall(t, s, `{"reference":"`+webRef+`","image":true}`)
	if code != http.StatusServiceUnavailable || rep.Verified || !strings.Contains(rep.Error, "reading which content tag "+webRef+" names now") {
		t.Fatalf("registry down: HTTP %d %+v", code, rep)
	}
}

// A tag the registry does not have is denied (evidence), not inconclusive.
func TestAdmissionTagMissingFromTheRegistryIsDenied(t *testing.T) {
	f := movableTagFake()
	f.resolveErr = fault.Deniedf("registry.example.com/app/web:1.0: tag not found")
	s := newTestService(t, f, Options{})
	resp := admitReview(t, s, readReview(t, "deployment"))
	if resp.Allowed || strings.Contains(resp.Result.Message, "inconclusive") || !strings.Contains(resp.Result.Message, "tag not found") {
		t.Fatalf("missing tag: %+v", resp.Result)
	}
}

// A digest reference names its content already: the registry is not asked.
func TestAdmissionDigestReferenceIsNotResolved(t *testing.T) {
	f := newFake(allSigned())
	s := newTestService(t, f, Options{})
	code, rep := verifyCall(t, s, `{"reference":"`+debugRef+`","image":true,"level":"4"}`)
	if code != http.StatusOK || !rep.Verified || f.resolveCalls.Load() != 0 {
		t.Fatalf("digest reference: HTTP %d verified %v, %d registry lookups", code, rep.Verified, f.resolveCalls.Load())
	}
	if got := f.lastRequested.Load(); got == nil || got.From != "" {
		t.Fatalf("digest reference verified as %+v", got)
	}
}
