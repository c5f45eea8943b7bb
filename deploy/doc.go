// Package deploy holds the Kubernetes manifests of the cnabsec admission
// webhook (namespace, configuration, service account, deployment, service,
// the MutatingWebhookConfiguration that pins verified tags and the
// ValidatingWebhookConfiguration that checks the final object), the
// cert-manager Issuers and Certificates of the webhook's serving certificate,
// and the tests that decode them with the Kubernetes API types (and the
// cert-manager.io/v1 fields used) and check their security settings.
package deploy
