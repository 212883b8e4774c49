// Command kubectl is upstream kubectl built from the same Kubernetes release as the local control
// planes, so tests, the demo and the benchmarks use a client that matches the servers exactly.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		os.Exit(1)
	}
}
