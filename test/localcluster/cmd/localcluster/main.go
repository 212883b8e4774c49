// Command localcluster runs real Kubernetes control planes on loopback for the project's tests,
// demo and benchmarks: etcd, kube-apiserver and kube-controller-manager built from the official
// Kubernetes modules. Each component runs as a child process of this same binary.
//
//	localcluster up --dir DIR NAME...                 start named, independent control planes
//	localcluster down --dir DIR                       stop them
//	localcluster ctl --dir DIR stop|start PLANE COMPONENT
//	localcluster etcd|kube-apiserver|kube-controller-manager [upstream flags]
package main

import (
	"errors"
	"fmt"
	"os"
)

const usage = "usage: localcluster up|down|ctl|etcd|kube-apiserver|kube-controller-manager ..."

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "etcd", "kube-apiserver", "kube-controller-manager":
		watchParentFromEnv()
		runComponent(cmd, args)
		return
	case "up":
		err = runUp(args)
	case "down":
		err = runDown(args)
	case "ctl":
		err = runCtl(args)
	default:
		err = usageError{fmt.Sprintf("unknown command %q (%s)", cmd, usage)}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "localcluster %s: %v\n", os.Args[1], err)
		var u usageError
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
