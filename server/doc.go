// Package server runs cnabsec as a long-lived service: a verification API
// (POST /v1/verify), a Kubernetes validating admission webhook
// (POST /v1/admission) and a pull-through gateway for an OCI registry that
// serves manifests only for verified content.
//
// Every part shares one trusted TUF state, refreshed in the background and on
// demand when stale, and a verdict cache keyed by reference, required level and
// trusted snapshot version. The service fails closed: when the metadata or the
// registry cannot be reached the answer is a denial that says "inconclusive",
// unless the operator explicitly configured the unsafe failOpen.
package server
