//go:build tools

// Package tools pins krew, whose own commands check and install this project's krew manifest in
// the tests: `go build` of these packages, within this module, needs no other download. (v0.4.4:
// the module proxy serves no later release of sigs.k8s.io/krew.)
package tools

import (
	_ "sigs.k8s.io/krew/cmd/krew"
	_ "sigs.k8s.io/krew/cmd/validate-krew-manifest"
)
