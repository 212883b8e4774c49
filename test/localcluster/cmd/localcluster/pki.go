package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// keyPair is a certificate with its private key, both PEM-encoded.
type keyPair struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	keyPEM  []byte
}

// planePKI is everything one control plane needs: its own CA, a serving certificate for the API
// server, client certificates for the admin and the controller manager, and the service-account
// signing key (kube-apiserver refuses to start without one).
type planePKI struct {
	ca, apiserver, admin, controllerManager    *keyPair
	serviceAccountKeyPEM, serviceAccountPubPEM []byte
}

func newKey() (*ecdsa.PrivateKey, error) {
	// ECDSA P-256: every component accepts it and it is generated in microseconds, which keeps
	// `up` fast; the product itself (init) makes its own keys, these only serve the tests.
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

func encodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// issue signs template with the signer (nil signer: self-signed) and returns the pair.
func issue(template *x509.Certificate, signer *keyPair) (*keyPair, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	if template.SerialNumber, err = serial(); err != nil {
		return nil, err
	}
	template.NotBefore = time.Now().Add(-time.Hour)
	if template.NotAfter.IsZero() {
		template.NotAfter = time.Now().Add(365 * 24 * time.Hour)
	}
	parent, parentKey := template, crypto.Signer(key)
	if signer != nil {
		parent, parentKey = signer.cert, signer.key
	}
	der, err := x509.CreateCertificate(rand.Reader, template, parent, key.Public(), parentKey)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	return &keyPair{
		cert:    cert,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  keyPEM,
	}, nil
}

func clientTemplate(cn string, groups ...string) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn, Organization: groups},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

func newPlanePKI(name string, ips []net.IP) (*planePKI, error) {
	ca, err := issue(&x509.Certificate{
		Subject:               pkix.Name{CommonName: "localcluster-" + name + "-ca"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
	}, nil)
	if err != nil {
		return nil, err
	}
	apiserver, err := issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local"},
		IPAddresses: append([]net.IP{net.ParseIP("127.0.0.1")}, ips...),
	}, ca)
	if err != nil {
		return nil, err
	}
	admin, err := issue(clientTemplate("localcluster-"+name+"-admin", "system:masters"), ca)
	if err != nil {
		return nil, err
	}
	kcm, err := issue(clientTemplate("system:kube-controller-manager"), ca)
	if err != nil {
		return nil, err
	}
	saKey, err := newKey()
	if err != nil {
		return nil, err
	}
	saKeyPEM, err := encodeKey(saKey)
	if err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(saKey.Public())
	if err != nil {
		return nil, err
	}
	return &planePKI{
		ca: ca, apiserver: apiserver, admin: admin, controllerManager: kcm,
		serviceAccountKeyPEM: saKeyPEM,
		serviceAccountPubPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}),
	}, nil
}

// write stores the PKI files under dir with private keys readable by the owner only.
func (p *planePKI) write(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	files := map[string][]byte{
		"ca.crt": p.ca.certPEM, "ca.key": p.ca.keyPEM,
		"apiserver.crt": p.apiserver.certPEM, "apiserver.key": p.apiserver.keyPEM,
		"admin.crt": p.admin.certPEM, "admin.key": p.admin.keyPEM,
		"controller-manager.crt": p.controllerManager.certPEM, "controller-manager.key": p.controllerManager.keyPEM,
		"sa.key": p.serviceAccountKeyPEM, "sa.pub": p.serviceAccountPubPEM,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}
