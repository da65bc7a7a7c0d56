package eventbus_test

import (
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
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap/zaptest"

	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/casework/eventbus/natstest"
)

// testPKI writes a CA and a server certificate for 127.0.0.1 into dir and
// returns the CA's, the certificate's and the key's paths.
func testPKI(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hotline test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "nats"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(srvKey)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", srvDER), write("server-key.pem", "EC PRIVATE KEY", keyDER)
}

// TestTLS: with TLS on, a service that trusts the CA (HOTLINE_NATS_CA_FILE)
// connects and logs in; one without it, or one speaking plain TCP, does not.
func TestTLS(t *testing.T) {
	ca, cert, key := testPKI(t, t.TempDir())
	srv := natstest.StartAuthServer(t, eventbus.DefaultScope(),
		fmt.Sprintf("tls {\n  cert_file: %q\n  key_file: %q\n  timeout: 2\n}\n", cert, key))
	if srv.URL[:6] != "tls://" {
		t.Fatalf("server URL %s, want tls://", srv.URL)
	}
	base := srv.As(eventbus.Config{URL: srv.URL, Stream: "HOTLINE", SubjectRoot: "hotline"}, eventbus.UserCasework)

	withCA := base
	withCA.CAFile = ca
	nc, err := eventbus.Connect(withCA, "tls-test", zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !nc.IsConnected() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !nc.IsConnected() || !nc.TLSRequired() {
		t.Fatalf("with the CA: connected %v, TLS %v", nc.IsConnected(), nc.TLSRequired())
	}
	if state, err := nc.TLSConnectionState(); err != nil || !state.HandshakeComplete {
		t.Fatalf("TLS state: %v", err)
	}

	cases := map[string]eventbus.Config{"without the CA": base}
	other := withCA
	otherCA, _, _ := testPKI(t, t.TempDir())
	other.CAFile = otherCA
	cases["another CA"] = other
	for name, cfg := range cases {
		opts, err := eventbus.DialOptions(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if nc, err := nats.Connect(cfg.URL, append(opts, nats.Timeout(3*time.Second))...); err == nil {
			nc.Close()
			t.Errorf("%s: connected", name)
		} else {
			t.Logf("%s: refused: %v", name, err)
		}
	}
}
