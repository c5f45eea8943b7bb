// Package deploy holds the Kubernetes manifests of the cnabsec admission
// webhook (namespace, configuration, service account, deployment, service,
// the MutatingWebhookConfiguration that pins verified tags and the
// ValidatingWebhookConfiguration that checks the final object) and the test
// that decodes them with the Kubernetes API types and checks their security
// settings.
package deploy
