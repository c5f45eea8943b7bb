package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/cnabsec/cnabsec/server"
)

// decode reads a manifest into its Kubernetes type; unknown fields (a typo in
// a security setting) fail the test.
func decode(t *testing.T, file string, v any) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

func TestEveryManifestDecodesWithTheKubernetesTypes(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	for _, f := range files {
		var tm metav1.TypeMeta
		data, _ := os.ReadFile(f)
		if err := yaml.Unmarshal(data, &tm); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var v any
		switch tm.APIVersion + "/" + tm.Kind {
		case "v1/Namespace":
			v = &corev1.Namespace{}
		case "v1/ConfigMap":
			v = &corev1.ConfigMap{}
		case "v1/ServiceAccount":
			v = &corev1.ServiceAccount{}
		case "v1/Service":
			v = &corev1.Service{}
		case "apps/v1/Deployment":
			v = &appsv1.Deployment{}
		case "admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration":
			v = &admissionregistrationv1.ValidatingWebhookConfiguration{}
		case "admissionregistration.k8s.io/v1/MutatingWebhookConfiguration":
			v = &admissionregistrationv1.MutatingWebhookConfiguration{}
		case "cert-manager.io/v1/Issuer":
			v = &issuer{}
		case "cert-manager.io/v1/Certificate":
			v = &certificate{}
		default:
			t.Fatalf("%s: unexpected %s %s", f, tm.APIVersion, tm.Kind)
		}
		decode(t, f, v)
	}
}

func TestDeploymentRunsNonRootReadOnlyWithLimits(t *testing.T) {
	var d appsv1.Deployment
	decode(t, "deployment.yaml", &d)
	pod := d.Spec.Template.Spec
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot || pod.SecurityContext.RunAsUser == nil || *pod.SecurityContext.RunAsUser == 0 {
		t.Fatal("pod may run as root")
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Fatal("the webhook needs no API token; it must not be mounted")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Fatal("root filesystem is writable")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Fatal("privilege escalation allowed")
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Fatal("capabilities not dropped")
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Limits[r]; !ok {
			t.Errorf("no %s limit", r)
		}
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("no %s request", r)
		}
	}
	args := strings.Join(c.Args, " ")
	for _, want := range []string{"serve", "--trust-root=", "--metadata=", "--tls-cert=", "--tls-key=", "--config=", "--mode=enforce", "--admission-mode=mutate"} {
		if !strings.Contains(args, want) {
			t.Errorf("args lack %q: %s", want, args)
		}
	}
	// The image make image builds and documents (tools/image).
	if !strings.HasPrefix(c.Image, "ghcr.io/cnabsec/cnabsec:") && !strings.HasPrefix(c.Image, "ghcr.io/cnabsec/cnabsec@sha256:") {
		t.Errorf("image %s is not the one make image builds (ghcr.io/cnabsec/cnabsec)", c.Image)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.ReadinessProbe.HTTPGet.Scheme != corev1.URISchemeHTTPS {
		t.Error("readiness probe is not HTTPS /readyz")
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Error("liveness probe is not /healthz")
	}
}

// webhook is what the two webhook configurations share.
type webhook struct {
	file                    string
	failurePolicy           *admissionregistrationv1.FailurePolicyType
	sideEffects             *admissionregistrationv1.SideEffectClass
	admissionReviewVersions []string
	clientConfig            admissionregistrationv1.WebhookClientConfig
	timeoutSeconds          *int32
	namespaceSelector       *metav1.LabelSelector
	rules                   []admissionregistrationv1.RuleWithOperations
}

// webhooks decodes webhook.yaml (mutating: pins verified tags) and
// webhook-validate.yaml (validating: digest references only).
func webhooks(t *testing.T) (admissionregistrationv1.MutatingWebhook, admissionregistrationv1.ValidatingWebhook, []webhook) {
	t.Helper()
	var m admissionregistrationv1.MutatingWebhookConfiguration
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	decode(t, "webhook.yaml", &m)
	decode(t, "webhook-validate.yaml", &v)
	if len(m.Webhooks) != 1 || len(v.Webhooks) != 1 {
		t.Fatalf("%d mutating and %d validating webhooks, want one of each", len(m.Webhooks), len(v.Webhooks))
	}
	mh, vh := m.Webhooks[0], v.Webhooks[0]
	return mh, vh, []webhook{
		{"webhook.yaml", mh.FailurePolicy, mh.SideEffects, mh.AdmissionReviewVersions, mh.ClientConfig, mh.TimeoutSeconds, mh.NamespaceSelector, mh.Rules},
		{"webhook-validate.yaml", vh.FailurePolicy, vh.SideEffects, vh.AdmissionReviewVersions, vh.ClientConfig, vh.TimeoutSeconds, vh.NamespaceSelector, vh.Rules},
	}
}

func TestMutatingWebhookPinsTagsAndIsReinvokedAfterOtherMutations(t *testing.T) {
	mh, vh, _ := webhooks(t)
	if mh.ClientConfig.Service == nil || mh.ClientConfig.Service.Path == nil || *mh.ClientConfig.Service.Path != "/v1/admission/mutate" {
		t.Fatal("the mutating webhook does not call /v1/admission/mutate")
	}
	// A later mutating webhook may put a tag back: this one runs again.
	if mh.ReinvocationPolicy == nil || *mh.ReinvocationPolicy != admissionregistrationv1.IfNeededReinvocationPolicy {
		t.Fatal("reinvocationPolicy is not IfNeeded")
	}
	if vh.ClientConfig.Service == nil || vh.ClientConfig.Service.Path == nil || *vh.ClientConfig.Service.Path != "/v1/admission/validate" {
		t.Fatal("the validating webhook does not call /v1/admission/validate (it may not patch)")
	}
}

func TestWebhookFailsClosedOnPodsAndEveryPodOwningKind(t *testing.T) {
	_, _, hooks := webhooks(t)
	var s corev1.Service
	decode(t, "service.yaml", &s)
	for _, h := range hooks {
		checkFailsClosed(t, h, s)
	}
}

func checkFailsClosed(t *testing.T, h webhook, s corev1.Service) {
	t.Helper()
	if h.failurePolicy == nil || *h.failurePolicy != admissionregistrationv1.Fail {
		t.Fatalf("%s: failurePolicy is not Fail", h.file)
	}
	if h.sideEffects == nil || *h.sideEffects != admissionregistrationv1.SideEffectClassNone {
		t.Fatalf("%s: sideEffects is not None", h.file)
	}
	if !slices.Equal(h.admissionReviewVersions, []string{"v1"}) {
		t.Fatalf("%s: admissionReviewVersions %v", h.file, h.admissionReviewVersions)
	}
	if h.timeoutSeconds == nil || *h.timeoutSeconds > 30 {
		t.Fatalf("%s: timeoutSeconds missing or above the API server's maximum", h.file)
	}
	want := map[string][]string{
		"":      {"pods", "pods/ephemeralcontainers", "replicationcontrollers"},
		"apps":  {"deployments", "replicasets", "statefulsets", "daemonsets"},
		"batch": {"jobs", "cronjobs"},
	}
	for group, resources := range want {
		for _, res := range resources {
			found := false
			for _, r := range h.rules {
				if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, res) &&
					slices.Contains(r.Operations, admissionregistrationv1.Create) && slices.Contains(r.Operations, admissionregistrationv1.Update) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: no CREATE+UPDATE rule for %s/%s", h.file, group, res)
			}
		}
	}
	// The webhook's own namespace is excluded, or it could not restart itself.
	if h.clientConfig.Service == nil || h.clientConfig.Service.Name != s.Name || h.clientConfig.Service.Namespace != s.Namespace {
		t.Fatalf("%s: webhook does not point at the service", h.file)
	}
	excluded := false
	for _, e := range h.namespaceSelector.MatchExpressions {
		if e.Key == "kubernetes.io/metadata.name" && e.Operator == metav1.LabelSelectorOpNotIn && slices.Contains(e.Values, s.Namespace) {
			excluded = true
		}
	}
	if !excluded {
		t.Fatalf("%s: the webhook's own namespace is not excluded", h.file)
	}
}

func TestServiceTargetsTheWebhookPort(t *testing.T) {
	var s corev1.Service
	var d appsv1.Deployment
	decode(t, "service.yaml", &s)
	decode(t, "deployment.yaml", &d)
	if len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Port != 443 || s.Spec.Ports[0].TargetPort.StrVal != d.Spec.Template.Spec.Containers[0].Ports[0].Name {
		t.Fatalf("service ports %+v", s.Spec.Ports)
	}
	for k, v := range s.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Fatalf("service selector %s=%s does not select the pods", k, v)
		}
	}
}

func TestShippedPolicyIsValidAndFailsClosed(t *testing.T) {
	var cm corev1.ConfigMap
	decode(t, "configmap.yaml", &cm)
	cfg, err := server.ParseConfig([]byte(cm.Data["policy.yaml"]))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.FailOpen {
		t.Fatal("the shipped policy fails open")
	}
	if _, ok := cm.Data["root.json"]; !ok {
		t.Fatal("no pinned root")
	}
}
