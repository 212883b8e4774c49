//go:build tools

// Package tools pins helm, built from its Go module for the test of helm --wait and --atomic against
// the federation (no prebuilt binary can be downloaded here).
package tools

import _ "helm.sh/helm/v3/cmd/helm"
