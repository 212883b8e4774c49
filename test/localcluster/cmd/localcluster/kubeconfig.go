package main

import (
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeFileAtomic writes data next to path and renames it into place, so readers never see a
// half-written file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// fileKubeconfig is a kubeconfig that refers to certificate files (for a component).
func fileKubeconfig(server, pkiDir, user string) []byte {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: server, CertificateAuthority: filepath.Join(pkiDir, "ca.crt")}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{
		ClientCertificate: filepath.Join(pkiDir, user+".crt"),
		ClientKey:         filepath.Join(pkiDir, user+".key"),
	}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: user}
	cfg.CurrentContext = "local"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		panic(err) // only fails on values it cannot encode, which these are not
	}
	return data
}

// adminKubeconfig has one context per plane, named after the plane, with its own cluster and user
// entries and the credentials embedded, so the file can be copied anywhere.
func adminKubeconfig(planes []*plane) ([]byte, error) {
	cfg := clientcmdapi.NewConfig()
	for _, p := range planes {
		cluster, user := p.Name+"-cluster", p.Name+"-admin"
		cfg.Clusters[cluster] = &clientcmdapi.Cluster{Server: p.server(), CertificateAuthorityData: p.pki.ca.certPEM}
		cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{
			ClientCertificateData: p.pki.admin.certPEM,
			ClientKeyData:         p.pki.admin.keyPEM,
		}
		cfg.Contexts[p.Name] = &clientcmdapi.Context{Cluster: cluster, AuthInfo: user}
	}
	if len(planes) > 0 {
		cfg.CurrentContext = planes[0].Name
	}
	return clientcmd.Write(*cfg)
}
