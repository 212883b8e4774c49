package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

// runComponent runs one upstream component with its upstream command line, unchanged. Each runs in
// a process of its own: kube-apiserver's command can be built only once per process.
func runComponent(name string, args []string) {
	// Named as the real binary: client-go derives the user agent, and so the field manager every
	// write records, from the program's name ("kube-apiserver", not "localcluster").
	os.Args[0] = name
	switch name {
	case "etcd":
		// etcdmain.Main reads os.Args itself (its first element is the program name).
		os.Args = append([]string{"etcd"}, args...)
		etcdmain.Main(os.Args)
	case "kube-apiserver":
		command := apiserver.NewAPIServerCommand()
		command.SetArgs(args)
		os.Exit(cli.Run(command))
	case "kube-controller-manager":
		command := controllermanager.NewControllerManagerCommand()
		command.SetArgs(args)
		os.Exit(cli.Run(command))
	}
}
