package server

import (
	"encoding/json"
	"strconv"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// pinnedAnnotation is the audit annotation listing the tags a review pinned.
const pinnedAnnotation = "pinned"

// pinTags sets, for every verified tag reference, the digest reference that
// replaces it: REPO@sha256:DIGEST with the digest the verdict was about (the
// content the tag was read by, cached under it). A verified tag with no such
// digest (a verifier that reads no registry) is denied: it cannot be pinned.
func pinTags(results []*imageResult) {
	for _, res := range results {
		if !res.checked() || res.img.byDigest {
			continue
		}
		if d, ok := strings.CutPrefix(res.req.From, res.img.repo+"@"); ok && sha256RE.MatchString(d) {
			res.pin = res.req.From
			continue
		}
		if res.report != nil && sha256RE.MatchString(res.report.BundleDigest) {
			res.pin = res.img.repo + "@" + res.report.BundleDigest
			continue
		}
		res.err = fault.Deniedf("verified, but no digest is known to pin the tag to (the verifier read no registry), so the kubelet could pull other content")
	}
}

// patchOp is one JSON Patch (RFC 6902) operation.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value"`
}

// attachPatch adds to resp the JSON Patch replacing every pinned tag, in
// every container naming it, with its digest reference.
func attachPatch(resp *admissionv1.AdmissionResponse, results []*imageResult) error {
	// Written by hand (the admission fast path): paths and values are
	// quoted as JSON strings.
	patch := make([]byte, 0, 512)
	var pinned []string
	for _, res := range results {
		if res.pin == "" || res.err != nil {
			continue
		}
		for _, u := range res.uses {
			if len(patch) == 0 {
				patch = append(patch, '[')
			} else {
				patch = append(patch, ',')
			}
			patch = append(patch, `{"op":"replace","path":`...)
			patch = strconv.AppendQuote(patch, u.pointer())
			patch = append(patch, `,"value":`...)
			patch = strconv.AppendQuote(patch, res.pin)
			patch = append(patch, '}')
		}
		pinned = append(pinned, res.img.raw+" -> "+res.pin)
	}
	if len(patch) == 0 {
		return nil
	}
	patch = append(patch, ']')
	if !json.Valid(patch) {
		return fault.Inputf("building the pinning patch: not valid JSON")
	}
	pt := admissionv1.PatchTypeJSONPatch
	resp.Patch, resp.PatchType = patch, &pt
	if resp.AuditAnnotations == nil {
		resp.AuditAnnotations = map[string]string{}
	}
	resp.AuditAnnotations[pinnedAnnotation] = strings.Join(pinned, ", ")
	return nil
}

// pointer is the JSON Pointer (RFC 6901) of the container's image field, e.g.
// /spec/template/spec/initContainers/0/image. Its parts never hold "~" or "/".
func (c containerImage) pointer() string {
	return "/" + strings.ReplaceAll(c.prefix, ".", "/") + "/" + c.field + "/" + strconv.Itoa(c.index) + "/image"
}
