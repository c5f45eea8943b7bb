package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/cnabsec/cnabsec/internal/fault"
	"github.com/cnabsec/cnabsec/verifier"
)

// Request body limits.
const (
	MaxAdmissionBody = 1 << 20  // 1 MiB: an AdmissionReview carrying a workload
	MaxVerifyBody    = 64 << 10 // 64 KiB: {"reference": ..., "level": ...}
)

// Mode is what admission does with a denial.
type Mode string

// Admission modes.
const (
	// Enforce refuses workloads with images that do not verify.
	Enforce Mode = "enforce"
	// Warn admits them with a Kubernetes warning per image (for roll-out).
	Warn Mode = "warn"
)

// ParseMode parses --mode.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case Enforce, Warn:
		return Mode(s), nil
	}
	return "", fault.Inputf("mode %q: want enforce or warn", s)
}

// Options configures a Service.
type Options struct {
	// Verifier verifies against the trusted TUF state (required).
	Verifier Verifier
	// Level is required of /v1/verify requests that name none, and of images
	// no policy names (default 2).
	Level verifier.Level
	// Mode is the admission mode (default enforce).
	Mode Mode
	// AdmissionMode is what POST /v1/admission does with a tag: pin it
	// (Mutate, the default) or deny it (Validate).
	AdmissionMode AdmissionMode
	// Policy is the admission policy (default: no exemptions, Level for all).
	Policy *Policy
	// RefreshInterval is how often the TUF state is refreshed (default 5m).
	RefreshInterval time.Duration
	// Logger receives structured logs (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service is the verification API and admission webhook. Create it with New,
// start the background refresh with Run, and serve Handler.
type Service struct {
	level   verifier.Level
	mode    Mode
	policy  *Policy
	log     *slog.Logger
	trust   *trust
	checker *checker
	images  *parsedImages
	digests *indexHolder // signed image digests, for digest references
	metrics *metrics
	mux     *http.ServeMux
}

// parsedImageMemo is how many image references the service remembers parsed.
const parsedImageMemo = 4096

// New builds a Service. It does not contact anything; Run does.
func New(o Options) (*Service, error) {
	if o.Verifier == nil {
		return nil, fault.Inputf("server: no verifier")
	}
	if o.Level == "" {
		o.Level = verifier.Level2
	}
	if o.Mode == "" {
		o.Mode = Enforce
	}
	if _, err := ParseMode(string(o.Mode)); err != nil {
		return nil, err
	}
	if o.Policy == nil {
		p, err := (*Config)(nil).Policy(o.Level)
		if err != nil {
			return nil, err
		}
		o.Policy = p
	}
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = 5 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m := newMetrics()
	t := newTrust(o.Verifier, o.RefreshInterval, o.Now, o.Logger, m)
	m.watchState(o.Verifier.State, o.Now)
	s := &Service{
		level:   o.Level,
		mode:    o.Mode,
		policy:  o.Policy,
		log:     o.Logger,
		trust:   t,
		checker: newChecker(o.Verifier, t, o.Policy.CacheSize, o.Policy.CacheTTL, m),
		images:  newParsedImages(parsedImageMemo),
		metrics: m,
		mux:     http.NewServeMux(),
	}
	s.mux.HandleFunc("POST /v1/verify", s.handleVerify)
	if err := s.routeAdmission(string(o.AdmissionMode)); err != nil {
		return nil, err
	}
	s.mux.HandleFunc("GET /healthz", s.handleHealthz)
	s.mux.HandleFunc("GET /readyz", s.handleReadyz)
	s.mux.Handle("GET /metrics", m.handler())
	return s, nil
}

// Handler is the service's HTTP handler.
func (s *Service) Handler() http.Handler { return s.mux }

// Run refreshes the TUF state at once and then every interval, until ctx is
// done. The service reports ready after the first successful refresh.
func (s *Service) Run(ctx context.Context) { s.trust.run(ctx) }

// Refresh runs one TUF refresh now (or joins the one in flight).
func (s *Service) Refresh(ctx context.Context) error { return s.trust.refresh(ctx) }

// Ready reports whether a TUF refresh has succeeded.
func (s *Service) Ready() bool { return s.trust.ready.Load() }

func (s *Service) handleHealthz(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
	s.metrics.observe("healthz", "ok", start)
}

func (s *Service) handleReadyz(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !s.trust.ready.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		msg := "not ready: no successful TUF refresh yet"
		if e := s.trust.lastError(); e != "" {
			msg += ": " + e
		}
		io.WriteString(w, msg+"\n")
		s.metrics.observe("readyz", "not_ready", start)
		return
	}
	io.WriteString(w, "ready\n")
	s.metrics.observe("readyz", "ready", start)
}

// verifyRequest is the body of POST /v1/verify.
type verifyRequest struct {
	Reference string `json:"reference"`
	Level     string `json:"level,omitempty"`
	Image     bool   `json:"image,omitempty"`
}

func (s *Service) handleVerify(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var body verifyRequest
	if err := decodeJSON(w, r, MaxVerifyBody, &body); err != nil {
		s.badRequest(w, "verify", start, err)
		return
	}
	req, img, err := s.verifyRequest(body)
	if err != nil {
		s.badRequest(w, "verify", start, err)
		return
	}
	var rep *verifier.Report
	req, err = s.checker.pin(r.Context(), req, img)
	if err != nil {
		rep = failedReport(req, err)
	} else {
		rep, err = s.checker.check(r.Context(), req)
	}
	status, outcome := http.StatusOK, "verified"
	switch fault.KindOf(err) {
	case fault.Unknown:
		if err != nil {
			status, outcome = http.StatusServiceUnavailable, "inconclusive"
		}
	case fault.Denied:
		outcome = "denied"
	case fault.Input:
		status, outcome = http.StatusBadRequest, "bad_request"
	case fault.Inconclusive:
		status, outcome = http.StatusServiceUnavailable, "inconclusive"
	}
	s.log.Info("verify", "reference", req.Reference, "level", string(req.Level), "image", req.Image, "verdict", outcome, "error", errString(err), "duration", time.Since(start))
	writeJSONStatus(w, status, rep)
	s.metrics.observe("verify", outcome, start)
}

// verifyRequest validates a /v1/verify body.
func (s *Service) verifyRequest(b verifyRequest) (verifier.Request, image, error) {
	if strings.TrimSpace(b.Reference) == "" {
		return verifier.Request{}, image{}, fault.Inputf("reference: missing")
	}
	lvl := s.level
	if b.Level != "" {
		l, err := verifier.ParseLevel(b.Level)
		if err != nil {
			return verifier.Request{}, image{}, err
		}
		lvl = l
	}
	if b.Image {
		if err := verifier.CheckImageLevel(lvl); err != nil {
			return verifier.Request{}, image{}, err
		}
	}
	img, err := parseImage(b.Reference)
	if err != nil {
		return verifier.Request{}, image{}, fault.Inputf("reference: %w", err)
	}
	return verifier.Request{Reference: img.ref, Level: lvl, Image: b.Image}, img, nil
}

func (s *Service) badRequest(w http.ResponseWriter, endpoint string, start time.Time, err error) {
	status := http.StatusBadRequest
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		status = http.StatusRequestEntityTooLarge
	}
	s.log.Warn("bad request", "endpoint", endpoint, "error", err.Error())
	writeJSONStatus(w, status, map[string]string{"error": err.Error()})
	s.metrics.observe(endpoint, "bad_request", start)
}

// decodeJSON reads one JSON value of at most limit bytes into v; unknown
// fields and trailing data are refused.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	data, err := readBody(w, r, limit)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fault.Inputf("request body is not the expected JSON: %w", err)
	}
	if dec.More() {
		return fault.Inputf("request body: trailing data after the JSON value")
	}
	return nil
}

// presizeBody is the largest announced body length read into a buffer of
// that size at once.
const presizeBody = 64 << 10

// readBody reads a request body of at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, limit)
	var data []byte
	var err error
	if n := r.ContentLength; n > 0 && n <= limit && n <= presizeBody {
		// One allocation of the announced size. The server ends the body
		// where Content-Length says; a shorter one is an error. Larger
		// bodies grow as they arrive, so that a client announcing a large
		// body and sending nothing does not reserve memory.
		data = make([]byte, n)
		_, err = io.ReadFull(body, data)
	} else {
		data, err = io.ReadAll(body)
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, fault.Inputf("request body larger than %d bytes: %w", limit, err)
		}
		return nil, fault.Inputf("reading request body: %w", err)
	}
	return data, nil
}

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, fmt.Sprintf("encoding response: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
