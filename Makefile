# cnabsec: `make demo` runs the whole pipeline on loopback; `make test` runs every
# test that needs nothing but Go and the module proxy.
GO          ?= go
GOBIN       := $(shell $(GO) env GOPATH)/bin
STATICCHECK := $(GOBIN)/staticcheck
STATICCHECK_VERSION := v0.8.2
FUZZTIME    ?= 20s
BENCHTIME   ?= 1x
INTEROP_DIR := $(CURDIR)/.interop
export CNABSEC_TUFJS_DIR := $(INTEROP_DIR)/tufjs
# cnab-to-oci, built from the module proxy in its own module (tools/cnab-to-oci):
# DIR/VERSION/cnab-to-oci (the CLI) and DIR/VERSION/cnab-to-oci-golden (the golden generator).
export CNABSEC_CNAB_TO_OCI_DIR := $(INTEROP_DIR)/cnab-to-oci
CNAB_TO_OCI_GOLDENS := $(wildcard bundle/oci/testdata/cnab-to-oci/*/)

.PHONY: all build test unit lint vet staticcheck interop interop-deps interop-cnab-to-oci conformance demo bench fuzz release image vulncheck clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -o bin/cnabsec ./cmd/cnabsec
	CGO_ENABLED=1 $(GO) build -o bin/cnabsec-signer-pkcs11 ./cmd/cnabsec-signer-pkcs11

## test: vet, staticcheck and the race-enabled unit tests (no network beyond the module proxy).
test: lint unit

unit:
	$(GO) test -race -count=1 ./...

lint: vet staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

$(STATICCHECK):
	$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

staticcheck: $(STATICCHECK)
	$(STATICCHECK) ./...

## interop: install the independent peers (Debian docker-registry, skopeo, in-toto; npm tuf-js)
## and run the tests against them. With CI=true a missing peer fails, never skips.
interop: interop-deps interop-cnab-to-oci
	CNABSEC_INTEROP=1 $(GO) test -count=1 -tags interop -run Interop ./...

## interop-cnab-to-oci: build cnab-to-oci v0.6.1 (tools/cnab-to-oci/go.mod) and v0.4.1
## (go.v0.4.1.mod) and check that each still writes the committed golden index and config
## manifest of every bundle in bundle/oci/testdata/cnab-to-oci (TestPushIsByteIdenticalToCnabToOCI).
interop-cnab-to-oci:
	@cd tools/cnab-to-oci && \
	$(GO) build -o "$(CNABSEC_CNAB_TO_OCI_DIR)/v0.6.1/" github.com/cnabio/cnab-to-oci/cmd/cnab-to-oci && \
	$(GO) build -o "$(CNABSEC_CNAB_TO_OCI_DIR)/v0.6.1/cnab-to-oci-golden" . && \
	$(GO) build -modfile=go.v0.4.1.mod -tags cnabtooci04 -o "$(CNABSEC_CNAB_TO_OCI_DIR)/v0.4.1/" github.com/cnabio/cnab-to-oci/cmd/cnab-to-oci && \
	$(GO) build -modfile=go.v0.4.1.mod -tags cnabtooci04 -o "$(CNABSEC_CNAB_TO_OCI_DIR)/v0.4.1/cnab-to-oci-golden" .
	@for v in v0.6.1 v0.4.1; do "$(CNABSEC_CNAB_TO_OCI_DIR)/$$v/cnab-to-oci-golden" -check $(CNAB_TO_OCI_GOLDENS) || exit 1; done
	@echo "cnab-to-oci v0.6.1 and v0.4.1 write the committed goldens"

interop-deps:
	@need=""; for b in docker-registry skopeo in-toto-verify faketime softhsm2-util dot; do command -v $$b >/dev/null || need=1; done; \
	if [ -n "$$need" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry skopeo in-toto faketime softhsm2 graphviz >/dev/null; \
	fi
	@if [ ! -d "$(CNABSEC_TUFJS_DIR)/node_modules/tuf-js" ]; then \
	  mkdir -p "$(CNABSEC_TUFJS_DIR)" && cd "$(CNABSEC_TUFJS_DIR)" && \
	  (test -f package.json || echo '{"name":"cnabsec-interop","private":true}' > package.json) && \
	  npm install --no-audit --no-fund --loglevel=error tuf-js@6.0.2 >/dev/null; \
	fi

## conformance: the upstream TUF conformance suite (113 tests, python-tuf as the reference) against
## cmd/tuf-conformance-client; every test must pass (no expected-failures file). The suite is
## packed in ../shared/peers/tuf-conformance (SHARED overrides where it is).
SHARED ?= $(CURDIR)/../shared
conformance:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(GO) build -o "$$tmp/tuf-conformance-client" ./cmd/tuf-conformance-client && \
	"$(SHARED)/peers/tuf-conformance/run" "$$tmp/tuf-conformance-client"

## demo: the whole pipeline on an embedded registry and a temporary repository.
demo:
	$(GO) run ./cmd/cnabsec demo

## bench: benchmarks, each reported as a ratio against a reference measured in the same run
## (one package at a time: -p 1, so that no package's benchmark loads the machine under another's).
bench:
	@mkdir -p bench
	$(GO) test -p 1 -run '^$$' -bench . -benchtime $(BENCHTIME) -timeout 30m ./... 2>&1 | $(GO) run ./internal/testing/benchtable -json bench/results.json

## fuzz: run every fuzz target for FUZZTIME each (minimizing a new input at most 5 s, so that
## the engine does not run past its deadline minimizing). A bare 'context deadline exceeded' with no
## failing input written is Go's coordinator race golang/go#75804 (fixed in Go 1.27, in no 1.26.x):
## it is reported as a warning; any failing input still fails the run.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/func //'); do \
	    echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
	    out=$$($(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg 2>&1) && { echo "$$out" | tail -3; continue; }; \
	    echo "$$out" | tail -30; \
	    if echo "$$out" | grep -q 'context deadline exceeded' && ! echo "$$out" | grep -q 'Failing input written to'; then \
	      echo "WARNING: $$f: the fuzz engine hit its deadline while stopping (no failing input was written); not counted as a crash"; \
	    else exit 1; fi; \
	  done; \
	done

## release: reproducible static binaries with checksums.
release:
	mkdir -p dist
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$$(git describe --tags --always --dirty)" -o dist/cnabsec ./cmd/cnabsec
	cd dist && sha256sum cnabsec > SHA256SUMS

## image: the cnabsec container image (tools/image), built with no container daemon into the OCI
## layout bin/image: static cnabsec alone, run as 65532:65532, no shell; the same commit gives the
## same digest. IMAGE=REGISTRY/REPO:TAG also pushes it (the manifests in deploy/ name
## ghcr.io/cnabsec/cnabsec:VERSION); CA_CERTS=FILE includes a CA bundle (none by default).
IMAGE    ?=
CA_CERTS ?=
image:
	$(GO) run ./tools/image -out bin/image $(if $(IMAGE),-push "$(IMAGE)") $(if $(CA_CERTS),-ca-certs "$(CA_CERTS)")

vulncheck:
	$(GO) run golang.org/x/vuln/cmd/govulncheck@latest ./...

clean:
	rm -rf bin dist .interop
