package deploy

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// issuer and certificate are the cert-manager.io/v1 fields these manifests
// may use (the module does not depend on cert-manager): decoded strictly, a
// misspelt or unexpected field fails the test.
type issuer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		SelfSigned *struct{} `json:"selfSigned,omitempty"`
		CA         *struct {
			SecretName string `json:"secretName"`
		} `json:"ca,omitempty"`
	} `json:"spec"`
}

type certificate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		IsCA        bool     `json:"isCA,omitempty"`
		CommonName  string   `json:"commonName,omitempty"`
		SecretName  string   `json:"secretName"`
		DNSNames    []string `json:"dnsNames,omitempty"`
		Duration    string   `json:"duration,omitempty"`
		RenewBefore string   `json:"renewBefore,omitempty"`
		Usages      []string `json:"usages,omitempty"`
		PrivateKey  struct {
			Algorithm      string `json:"algorithm"`
			Size           int    `json:"size"`
			RotationPolicy string `json:"rotationPolicy"`
		} `json:"privateKey"`
		IssuerRef struct {
			Group string `json:"group"`
			Kind  string `json:"kind"`
			Name  string `json:"name"`
		} `json:"issuerRef"`
	} `json:"spec"`
}

// certManager is the chain: self-signed issuer → CA → CA issuer → serving cert.
type certManager struct {
	selfSigned, caIssuer issuer
	ca, serving          certificate
}

func readCertManager(t *testing.T) certManager {
	t.Helper()
	var c certManager
	decode(t, "issuer-selfsigned.yaml", &c.selfSigned)
	decode(t, "issuer-ca.yaml", &c.caIssuer)
	decode(t, "certificate-ca.yaml", &c.ca)
	decode(t, "certificate.yaml", &c.serving)
	return c
}

func TestServingCertificateNamesTheServiceAndFillsTheMountedSecret(t *testing.T) {
	c := readCertManager(t)
	var s corev1.Service
	var d appsv1.Deployment
	decode(t, "service.yaml", &s)
	decode(t, "deployment.yaml", &d)
	// The API server calls SERVICE.NAMESPACE.svc: the certificate must name it.
	if want := s.Name + "." + s.Namespace + ".svc"; !slices.Contains(c.serving.Spec.DNSNames, want) {
		t.Errorf("certificate.yaml dnsNames %v lack %s", c.serving.Spec.DNSNames, want)
	}
	for _, n := range c.serving.Spec.DNSNames {
		if !strings.HasPrefix(n, s.Name+"."+s.Namespace+".svc") {
			t.Errorf("certificate.yaml names %s, which is not the Service", n)
		}
	}
	if c.serving.Namespace != s.Namespace || c.serving.Spec.IsCA {
		t.Errorf("serving certificate in %q (isCA %v), want a leaf in %s", c.serving.Namespace, c.serving.Spec.IsCA, s.Namespace)
	}
	if !slices.Contains(c.serving.Spec.Usages, "server auth") {
		t.Errorf("serving certificate usages %v lack server auth", c.serving.Spec.Usages)
	}
	if got := tlsSecret(d); got != c.serving.Spec.SecretName {
		t.Errorf("the Deployment mounts secret %q at /tls, the certificate fills %q", got, c.serving.Spec.SecretName)
	}
	checkRenewal(t, "certificate.yaml", c.serving)
	checkRenewal(t, "certificate-ca.yaml", c.ca)
}

// tlsSecret is the secret mounted where --tls-cert and --tls-key point.
func tlsSecret(d appsv1.Deployment) string {
	c := d.Spec.Template.Spec.Containers[0]
	for _, m := range c.VolumeMounts {
		if m.MountPath != "/tls" {
			continue
		}
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == m.Name && v.Secret != nil {
				return v.Secret.SecretName
			}
		}
	}
	return ""
}

func checkRenewal(t *testing.T, file string, c certificate) {
	t.Helper()
	life, err1 := time.ParseDuration(c.Spec.Duration)
	renew, err2 := time.ParseDuration(c.Spec.RenewBefore)
	if err1 != nil || err2 != nil || renew <= 0 || renew >= life {
		t.Errorf("%s: duration %q renewBefore %q: want renewal before expiry", file, c.Spec.Duration, c.Spec.RenewBefore)
	}
	if c.Spec.PrivateKey.RotationPolicy != "Always" {
		t.Errorf("%s: the private key is kept across renewals (rotationPolicy %q)", file, c.Spec.PrivateKey.RotationPolicy)
	}
}

func TestServingCertificateChainsToTheCAInjectedIntoBothWebhooks(t *testing.T) {
	c := readCertManager(t)
	ref := c.serving.Spec.IssuerRef
	if ref.Kind != "Issuer" || ref.Name != c.caIssuer.Name || c.caIssuer.Namespace != c.serving.Namespace {
		t.Fatalf("certificate.yaml is issued by %s %s, want the CA issuer %s/%s", ref.Kind, ref.Name, c.caIssuer.Namespace, c.caIssuer.Name)
	}
	if c.caIssuer.Spec.CA == nil || c.caIssuer.Spec.CA.SecretName != c.ca.Spec.SecretName || !c.ca.Spec.IsCA {
		t.Fatal("issuer-ca.yaml does not sign with the CA of certificate-ca.yaml")
	}
	caRef := c.ca.Spec.IssuerRef
	if c.selfSigned.Spec.SelfSigned == nil || caRef.Kind != "Issuer" || caRef.Name != c.selfSigned.Name {
		t.Fatal("certificate-ca.yaml is not issued by the self-signed issuer")
	}
	want := c.serving.Namespace + "/" + c.serving.Name
	for _, f := range []string{"webhook.yaml", "webhook-validate.yaml"} {
		var m metav1.PartialObjectMetadata
		decodeLoose(t, f, &m)
		if got := m.Annotations["cert-manager.io/inject-ca-from"]; got != want {
			t.Errorf("%s: cert-manager.io/inject-ca-from %q, want the serving certificate %s", f, got, want)
		}
	}
}

// decodeLoose reads only the metadata of a manifest (decode checks it whole).
func decodeLoose(t *testing.T, file string, v any) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}
