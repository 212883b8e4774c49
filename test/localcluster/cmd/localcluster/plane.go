package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// plane is one independent control plane: etcd, kube-apiserver and kube-controller-manager, each a
// child process, with a CA and credentials of its own.
type plane struct {
	Name              string `json:"name"`
	Dir               string `json:"dir"`
	EtcdPort          int    `json:"etcdPort"`
	EtcdPeerPort      int    `json:"etcdPeerPort"`
	APIServerPort     int    `json:"apiserverPort"`
	ControllerMgrPort int    `json:"controllerManagerPort"`
	BindAddress       string `json:"bindAddress"`
	// ServiceCIDR is the range of the plane's Service cluster IPs: planes whose nodes share one
	// network namespace each get their own, so the pod runner can serve every node's Service IPs.
	ServiceCIDR string `json:"serviceCIDR"`

	pki        *planePKI
	components []*component // in start order; stopped in reverse
}

func (p *plane) server() string {
	return "https://" + net.JoinHostPort(p.BindAddress, strconv.Itoa(p.APIServerPort))
}

func (p *plane) path(name string) string { return filepath.Join(p.Dir, name) }

func (p *plane) component(name string) *component {
	for _, c := range p.components {
		if c.name == name {
			return c
		}
	}
	return nil
}

// prepare writes the plane's PKI and the controller manager's kubeconfig and builds each
// component's upstream command line.
func (p *plane) prepare() error {
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		return err
	}
	var err error
	_, cidr, err := net.ParseCIDR(p.ServiceCIDR)
	if err != nil {
		return fmt.Errorf("service CIDR %q: %v", p.ServiceCIDR, err)
	}
	// The `kubernetes` Service takes the range's first address; the API server's certificate names it.
	first := cidr.IP.To4()
	if first == nil {
		return fmt.Errorf("service CIDR %q is not IPv4", p.ServiceCIDR)
	}
	kubernetesIP := net.IPv4(first[0], first[1], first[2], first[3]+1)
	if p.pki, err = newPlanePKI(p.Name, []net.IP{net.ParseIP(p.BindAddress), kubernetesIP}); err != nil {
		return err
	}
	pkiDir := p.path("pki")
	if err := p.pki.write(pkiDir); err != nil {
		return err
	}
	kcmKubeconfig := p.path("controller-manager.kubeconfig")
	if err := writeFileAtomic(kcmKubeconfig, fileKubeconfig(p.server(), pkiDir, "controller-manager"), 0o600); err != nil {
		return err
	}
	pk := func(f string) string { return filepath.Join(pkiDir, f) }
	etcdURL := fmt.Sprintf("http://%s", net.JoinHostPort(p.BindAddress, strconv.Itoa(p.EtcdPort)))
	peerURL := fmt.Sprintf("http://%s", net.JoinHostPort(p.BindAddress, strconv.Itoa(p.EtcdPeerPort)))
	p.components = []*component{
		{name: "etcd", logPath: p.path("etcd.log"), args: []string{
			"--name=" + p.Name,
			"--data-dir=" + p.path("etcd-data"),
			"--listen-client-urls=" + etcdURL,
			"--advertise-client-urls=" + etcdURL,
			"--listen-peer-urls=" + peerURL,
			"--initial-advertise-peer-urls=" + peerURL,
			"--initial-cluster=" + p.Name + "=" + peerURL,
			"--log-level=warn",
			// Test data lives as long as the test: durability across power loss buys nothing here.
			"--unsafe-no-fsync",
		}},
		{name: "kube-apiserver", logPath: p.path("kube-apiserver.log"), args: []string{
			"--etcd-servers=" + etcdURL,
			"--bind-address=" + p.BindAddress,
			"--advertise-address=" + p.BindAddress,
			// The endpoint reconciler refuses loopback addresses, and nothing here routes to the
			// `kubernetes` Service anyway: clients use the kubeconfig's address.
			"--endpoint-reconciler-type=none",
			"--secure-port=" + strconv.Itoa(p.APIServerPort),
			"--cert-dir=" + p.path("apiserver-certs"),
			"--tls-cert-file=" + pk("apiserver.crt"),
			"--tls-private-key-file=" + pk("apiserver.key"),
			"--client-ca-file=" + pk("ca.crt"),
			"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
			"--service-account-key-file=" + pk("sa.pub"),
			"--service-account-signing-key-file=" + pk("sa.key"),
			"--service-cluster-ip-range=" + p.ServiceCIDR,
			"--authorization-mode=Node,RBAC",
			"--allow-privileged=true",
			"--profiling=false",
		}},
		{name: "kube-controller-manager", logPath: p.path("kube-controller-manager.log"), args: []string{
			"--kubeconfig=" + kcmKubeconfig,
			"--bind-address=" + p.BindAddress,
			"--secure-port=" + strconv.Itoa(p.ControllerMgrPort),
			"--cert-dir=" + p.path("controller-manager-certs"),
			// The token controller signs service-account tokens and publishes the root CA with these.
			"--service-account-private-key-file=" + pk("sa.key"),
			"--root-ca-file=" + pk("ca.crt"),
			"--cluster-signing-cert-file=" + pk("ca.crt"),
			"--cluster-signing-key-file=" + pk("ca.key"),
			"--use-service-account-credentials=true",
			"--leader-elect=false",
			"--profiling=false",
		}},
	}
	return nil
}

// start starts the components in order, each once the one before it answers its health check.
func (p *plane) start(ctx context.Context) error {
	for _, c := range p.components {
		if err := p.startComponent(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

func (p *plane) startComponent(ctx context.Context, c *component) error {
	if err := c.start(); err != nil {
		return fmt.Errorf("%s: starting %s: %w", p.Name, c.name, err)
	}
	if err := p.waitHealthy(ctx, c); err != nil {
		return fmt.Errorf("%s: %s %v (see %s)", p.Name, c.name, err, c.logPath)
	}
	return nil
}

func (p *plane) stop() {
	for i := len(p.components) - 1; i >= 0; i-- {
		p.components[i].stop(10 * time.Second)
	}
}

// healthURL is where each component says it is ready to serve.
func (p *plane) healthURL(c *component) string {
	host := p.BindAddress
	switch c.name {
	case "etcd":
		return "http://" + net.JoinHostPort(host, strconv.Itoa(p.EtcdPort)) + "/health"
	case "kube-apiserver":
		return "https://" + net.JoinHostPort(host, strconv.Itoa(p.APIServerPort)) + "/readyz"
	default:
		return "https://" + net.JoinHostPort(host, strconv.Itoa(p.ControllerMgrPort)) + "/healthz"
	}
}

func (p *plane) healthClient(c *component) (*http.Client, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	switch c.name {
	case "kube-apiserver":
		pool := x509.NewCertPool()
		pool.AddCert(p.pki.ca.cert)
		cert, err := tls.X509KeyPair(p.pki.admin.certPEM, p.pki.admin.keyPEM)
		if err != nil {
			return nil, err
		}
		tlsConfig.RootCAs, tlsConfig.Certificates = pool, []tls.Certificate{cert}
	case "kube-controller-manager":
		// Its serving certificate is self-signed at start; /healthz is all that is asked of it.
		tlsConfig.InsecureSkipVerify = true
	}
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig}}, nil
}

// waitHealthy polls the component's health endpoint until it answers 200, the component exits,
// or ctx ends. Polls are bounded by ctx, which `up` always gives a deadline.
func (p *plane) waitHealthy(ctx context.Context, c *component) error {
	client, err := p.healthClient(c)
	if err != nil {
		return err
	}
	defer client.CloseIdleConnections()
	url := p.healthURL(c)
	exited := c.exited()
	last := "no answer yet"
	for {
		resp, err := client.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s answered %d", url, resp.StatusCode)
		} else {
			last = err.Error()
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("was not ready in time (last: %s)", last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
