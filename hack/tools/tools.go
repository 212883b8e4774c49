//go:build tools

// Package tools pins actionlint, which `make lint` runs on the release workflow: `go build` of it,
// within this module, needs no other download.
package tools

import (
	_ "github.com/rhysd/actionlint/cmd/actionlint"
)
