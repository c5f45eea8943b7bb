package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/verifier"
)

// maxParallelChecks bounds the verifications one admission request runs at once.
const maxParallelChecks = 8

// decodeAdmissionReview checks that data is an admission.k8s.io/v1
// AdmissionReview carrying a request with a uid.
func decodeAdmissionReview(data []byte) (*admissionv1.AdmissionReview, error) {
	var review admissionv1.AdmissionReview
	if err := jsonUnmarshal(data, &review); err != nil {
		return nil, fault.Inputf("not an AdmissionReview: %w", err)
	}
	return &review, validateReview(&review)
}

func validateReview(review *admissionv1.AdmissionReview) error {
	if review.APIVersion != "admission.k8s.io/v1" || review.Kind != "AdmissionReview" {
		return fault.Inputf("not an admission.k8s.io/v1 AdmissionReview (apiVersion %q, kind %q)", review.APIVersion, review.Kind)
	}
	if review.Request == nil {
		return fault.Inputf("AdmissionReview without a request")
	}
	if review.Request.UID == "" {
		return fault.Inputf("AdmissionReview request without a uid")
	}
	return nil
}

// fastReview decodes an AdmissionReview in one pass with the official types,
// except that the object is decoded straight into the fields naming images
// (and the old object is skipped): decoding it as raw bytes first and then
// again doubled the cost of an admission request.
type fastReview struct {
	metav1.TypeMeta `json:",inline"`
	Request         *fastRequest `json:"request,omitempty"`
}

type fastRequest struct {
	admissionv1.AdmissionRequest
	Object    *workload `json:"object,omitempty"`
	OldObject skipJSON  `json:"oldObject,omitempty"`
}

// skipJSON accepts and drops any JSON value.
type skipJSON struct{}

func (*skipJSON) UnmarshalJSON([]byte) error { return nil }

// AdmissionMode is what the admission webhook does with an image named by
// a tag: the kubelet pulls a tag later than the review, and a registry may
// serve other content by then.
type AdmissionMode string

// Admission modes.
const (
	// Mutate admits a verified tag and pins it: the response carries a JSON
	// patch replacing it with REPO@sha256:DIGEST, the digest the verdict was
	// about (a MutatingWebhookConfiguration).
	Mutate AdmissionMode = "mutate"
	// Validate admits images named by digest only and denies every checked
	// tag reference (a ValidatingWebhookConfiguration, which may not patch).
	Validate AdmissionMode = "validate"
)

// ParseAdmissionMode parses an admission mode ("" is Mutate).
func ParseAdmissionMode(s string) (AdmissionMode, error) {
	switch AdmissionMode(s) {
	case "":
		return Mutate, nil
	case Mutate, Validate:
		return AdmissionMode(s), nil
	}
	return "", fault.Inputf("admission mode %q: want mutate or validate", s)
}

// routeAdmission registers the admission endpoints: /v1/admission answers
// in mode def; /v1/admission/mutate and /v1/admission/validate in theirs.
func (s *Service) routeAdmission(def string) error {
	mode, err := ParseAdmissionMode(def)
	if err != nil {
		return err
	}
	s.digests = &indexHolder{v: s.checker.v, log: s.log}
	s.mux.HandleFunc("POST /v1/admission", s.admissionHandler(mode))
	s.mux.HandleFunc("POST /v1/admission/mutate", s.admissionHandler(Mutate))
	s.mux.HandleFunc("POST /v1/admission/validate", s.admissionHandler(Validate))
	return nil
}

func (s *Service) admissionHandler(mode AdmissionMode) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.handleAdmission(w, r, mode) }
}

func (s *Service) handleAdmission(w http.ResponseWriter, r *http.Request, mode AdmissionMode) {
	start := time.Now()
	data, err := readBody(w, r, MaxAdmissionBody)
	if err != nil {
		s.badRequest(w, "admission", start, err)
		return
	}
	review, objErr, err := decodeFastReview(data)
	if err != nil {
		s.badRequest(w, "admission", start, err)
		return
	}
	req := &review.Request.AdmissionRequest
	resp, outcome := s.admit(r.Context(), req, review.Request.Object, objErr, mode)
	resp.UID = req.UID
	out := admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp}
	msg := ""
	if resp.Result != nil {
		msg = resp.Result.Message
	}
	s.log.Info("admission", "uid", string(resp.UID), "kind", gvkString(req.Kind), "namespace", req.Namespace,
		"name", req.Name, "operation", string(req.Operation), "mode", string(mode), "allowed", resp.Allowed, "verdict", outcome,
		"message", msg, "warnings", resp.Warnings, "pinned", resp.AuditAnnotations[pinnedAnnotation], "duration", time.Since(start))
	writeJSONStatus(w, http.StatusOK, out)
	s.metrics.observe("admission", outcome, start)
}

// decodeFastReview decodes an AdmissionReview. objErr is why its object
// could not be read (the review is answered with a denial); err is a body
// that is no review at all (HTTP 400).
func decodeFastReview(data []byte) (review fastReview, objErr, err error) {
	if err := jsonUnmarshal(data, &review); err != nil {
		full, ferr := decodeAdmissionReview(data)
		if ferr != nil {
			return review, nil, ferr
		}
		if _, _, objErr = podSpecOf(full.Request.Kind, full.Request.Object.Raw); objErr == nil {
			objErr = fmt.Errorf("decoding %s: %w", full.Request.Kind.Kind, err)
		}
		review = fastReview{TypeMeta: full.TypeMeta, Request: &fastRequest{AdmissionRequest: *full.Request}}
	}
	if err := validateReview(&admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Request: reqOf(review.Request)}); err != nil {
		return review, nil, err
	}
	return review, objErr, nil
}

func reqOf(r *fastRequest) *admissionv1.AdmissionRequest {
	if r == nil {
		return nil
	}
	return &r.AdmissionRequest
}

// imageResult is the verdict on one image of a workload.
type imageResult struct {
	img    image
	uses   []containerImage // the containers naming it
	dec    decision
	req    verifier.Request // the verification its policy asks for, pinned
	report *verifier.Report // the verdict's report (nil when none ran)
	err    error            // nil: verified or exempt
	pin    string           // Mutate: REPO@sha256:DIGEST replacing the tag
}

// where lists the containers naming the image.
func (res *imageResult) where() string {
	paths := make([]string, len(res.uses))
	for i, u := range res.uses {
		paths[i] = u.path()
	}
	return strings.Join(paths, ", ")
}

// checked reports whether the image was verified (not exempt, no failure).
func (res *imageResult) checked() bool { return res.err == nil && !res.dec.exempt }

// admit decides one admission request. outcome is the metrics verdict label.
// obj is the decoded object (nil when absent) and objErr why it could not be
// decoded.
func (s *Service) admit(ctx context.Context, req *admissionv1.AdmissionRequest, obj *workload, objErr error, mode AdmissionMode) (*admissionv1.AdmissionResponse, string) {
	switch req.Operation {
	case admissionv1.Delete, admissionv1.Connect:
		return &admissionv1.AdmissionResponse{Allowed: true}, "allowed"
	}
	if s.policy.NamespaceExempt(req.Namespace) {
		return &admissionv1.AdmissionResponse{Allowed: true, AuditAnnotations: map[string]string{"exempt": "namespace " + req.Namespace}}, "exempt"
	}
	spec, prefix, err := specFor(req.Kind, obj)
	if objErr != nil {
		err = objErr
	}
	if err != nil {
		// The review is well-formed but its object cannot be read: refuse
		// (an unreadable workload is never admitted unchecked).
		return deny(http.StatusBadRequest, fmt.Sprintf("cnabsec: %s %s/%s: %v", req.Kind.Kind, req.Namespace, req.Name, err)), "bad_request"
	}
	results := s.checkImages(ctx, imagesOf(spec, prefix), mode)
	if mode == Mutate {
		pinTags(results)
	}
	denials, warnings, inconclusive := s.judge(results)
	if len(denials) > 0 && s.mode != Warn {
		msg := fmt.Sprintf("cnabsec denied %s %s/%s: %d of %d images failed verification: %s",
			req.Kind.Kind, req.Namespace, req.Name, len(denials), len(results), strings.Join(denials, "; "))
		resp := deny(http.StatusForbidden, msg)
		resp.Warnings = warnings
		if inconclusive && len(denials) > 0 {
			return resp, "inconclusive"
		}
		return resp, "denied"
	}
	outcome := "allowed"
	for _, d := range denials {
		warnings = append(warnings, "cnabsec (warn mode, not enforced): "+d)
	}
	if len(warnings) > 0 {
		outcome = "warned"
	}
	resp := &admissionv1.AdmissionResponse{Allowed: true, Warnings: warnings}
	if err := attachPatch(resp, results); err != nil {
		return deny(http.StatusInternalServerError, fmt.Sprintf("cnabsec: %s %s/%s: %v", req.Kind.Kind, req.Namespace, req.Name, err)), "bad_request"
	}
	return resp, outcome
}

// judge turns the failed images into denial lines; inconclusive ones become
// warnings instead under the UNSAFE failOpen.
func (s *Service) judge(results []*imageResult) (denials, warnings []string, inconclusive bool) {
	for _, res := range results {
		if res.err == nil {
			continue
		}
		line := fmt.Sprintf("image %s (%s) at level %s: %s", res.img.raw, res.where(), res.dec.level, res.err)
		if fault.KindOf(res.err) == fault.Inconclusive {
			inconclusive = true
			if s.policy.FailOpen {
				warnings = append(warnings, "cnabsec: UNSAFE failOpen admitted an unverified image: "+line)
				continue
			}
			line = fmt.Sprintf("image %s (%s) at level %s: inconclusive: %s", res.img.raw, res.where(), res.dec.level, res.err)
		}
		denials = append(denials, line)
	}
	return denials, warnings, inconclusive
}

func deny(code int32, msg string) *admissionv1.AdmissionResponse {
	reason := metav1.StatusReasonForbidden
	switch code {
	case http.StatusBadRequest:
		reason = metav1.StatusReasonBadRequest
	case http.StatusInternalServerError:
		reason = metav1.StatusReasonInternalError
	}
	return &admissionv1.AdmissionResponse{Allowed: false, Result: &metav1.Status{Status: metav1.StatusFailure, Code: code, Reason: reason, Message: msg}}
}

// checkImages verifies every distinct image of a workload, in parallel
// (bounded), and returns one result per distinct image in first-use order.
// In Validate mode a checked tag reference is denied without verification.
func (s *Service) checkImages(ctx context.Context, uses []containerImage, mode AdmissionMode) []*imageResult {
	results := s.distinctImages(uses)
	var todo []*imageResult
	for _, res := range results {
		if !res.checked() {
			continue
		}
		if mode == Validate && !res.img.byDigest {
			res.err = fault.Deniedf("a tag reference is not admitted by the validating webhook: the kubelet pulls the tag later and may get other content; name the image by digest (%s@sha256:...)", res.img.repo)
			continue
		}
		res.req = verifier.Request{Reference: res.img.ref, Level: res.dec.level, Image: true}
		if res.img.byDigest {
			res.req = s.digestRequest(ctx, res.req, res.img)
		}
		todo = append(todo, res)
	}
	// Pin each tag to the content the registry serves for it now.
	inParallel(todo, func(res *imageResult) { res.req, res.err = s.checker.pin(ctx, res.req, res.img) })
	// Answer what the verdict cache holds; verify the rest.
	var pending []*imageResult
	for _, res := range todo {
		if res.err != nil {
			continue
		}
		if v, ok := s.checker.lookup(res.req); ok {
			res.report, res.err = v.report, v.err
			continue
		}
		pending = append(pending, res)
	}
	inParallel(pending, func(res *imageResult) { res.report, res.err = s.checker.check(ctx, res.req) })
	return results
}

// distinctImages parses the images of a workload, one result per distinct
// normalized reference, and applies the policy to each.
func (s *Service) distinctImages(uses []containerImage) []*imageResult {
	var results []*imageResult
	byRef := map[string]*imageResult{}
	for _, u := range uses {
		img, err := s.images.parse(u.image)
		key := img.ref
		if err != nil {
			img = image{raw: u.image, ref: u.image, repo: u.image}
			key = "\x00invalid:" + u.image
			err = fault.Deniedf("not a valid image reference: %w", err)
		}
		if res, ok := byRef[key]; ok {
			res.uses = append(res.uses, u)
			continue
		}
		res := &imageResult{img: img, uses: []containerImage{u}, err: err}
		if err == nil {
			res.dec = s.policy.decide(img)
		}
		byRef[key] = res
		results = append(results, res)
	}
	return results
}

// digestRequest returns the verification of an image named by digest: its
// own target when the digest is signed as REPO@sha256:DIGEST, else the first
// tag target of the same repository whose signed content is that digest,
// read by the digest. A tag the mutating webhook pinned is so verified again
// by the same request (and found in the verdict cache) when the controller's
// pods, or a reinvocation, name it by digest. The trusted targets decide
// which tag applies; the verifier still compares the content read by digest
// with that tag's signed target.
func (s *Service) digestRequest(ctx context.Context, req verifier.Request, img image) verifier.Request {
	idx, err := s.digests.get(ctx)
	if err != nil {
		s.log.Warn("digest index", "error", err.Error())
		return req // verified by its own name, as without an index
	}
	_, d, _ := strings.Cut(img.ref, "@sha256:")
	names := idx.namesIn(img.repo, d)
	if len(names) == 0 || names[0] == img.ref {
		return req
	}
	req.Reference, req.From = names[0], img.ref
	return req
}

// inParallel runs f on every item, at most maxParallelChecks at once; the
// first item runs on the caller's goroutine.
func inParallel[T any](items []T, f func(T)) {
	if len(items) == 0 {
		return
	}
	sem := make(chan struct{}, maxParallelChecks-1)
	var wg sync.WaitGroup
	for _, it := range items[1:] {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(it)
		}()
	}
	f(items[0])
	wg.Wait()
}
