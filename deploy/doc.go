// Package deploy holds the Kubernetes manifests of the cnabsec admission
// webhook (namespace, configuration, service account, deployment, service and
// ValidatingWebhookConfiguration) and the test that decodes them with the
// Kubernetes API types and checks their security settings.
package deploy
