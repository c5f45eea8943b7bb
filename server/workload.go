package server

import (
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// containerImage is one image a workload runs, with where it is named.
type containerImage struct {
	path  string // e.g. spec.template.spec.initContainers[0] (name "setup")
	image string
}

// podSpecOf decodes a workload object of a supported kind and returns its pod
// spec and the path to it. Unsupported kinds are an error: the webhook is
// registered for exactly the kinds listed here, and a kind it cannot read is
// never admitted unchecked.
func podSpecOf(gvk metav1.GroupVersionKind, raw []byte) (*corev1.PodSpec, string, error) {
	decode := func(v any) error {
		if len(raw) == 0 {
			return fmt.Errorf("%s: the request carries no object", gvk.Kind)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("decoding %s: %w", gvk.Kind, err)
		}
		return nil
	}
	switch {
	case gvk.Group == "" && gvk.Version == "v1" && gvk.Kind == "Pod":
		var o corev1.Pod
		if err := decode(&o); err != nil {
			return nil, "", err
		}
		return &o.Spec, "spec", nil
	case gvk.Group == "" && gvk.Version == "v1" && gvk.Kind == "ReplicationController":
		var o corev1.ReplicationController
		if err := decode(&o); err != nil {
			return nil, "", err
		}
		if o.Spec.Template == nil {
			return &corev1.PodSpec{}, "spec.template.spec", nil
		}
		return &o.Spec.Template.Spec, "spec.template.spec", nil
	case gvk.Group == "apps" && gvk.Version == "v1":
		switch gvk.Kind {
		case "Deployment":
			var o appsv1.Deployment
			if err := decode(&o); err != nil {
				return nil, "", err
			}
			return &o.Spec.Template.Spec, "spec.template.spec", nil
		case "ReplicaSet":
			var o appsv1.ReplicaSet
			if err := decode(&o); err != nil {
				return nil, "", err
			}
			return &o.Spec.Template.Spec, "spec.template.spec", nil
		case "StatefulSet":
			var o appsv1.StatefulSet
			if err := decode(&o); err != nil {
				return nil, "", err
			}
			return &o.Spec.Template.Spec, "spec.template.spec", nil
		case "DaemonSet":
			var o appsv1.DaemonSet
			if err := decode(&o); err != nil {
				return nil, "", err
			}
			return &o.Spec.Template.Spec, "spec.template.spec", nil
		}
	case gvk.Group == "batch" && gvk.Version == "v1":
		switch gvk.Kind {
		case "Job":
			var o batchv1.Job
			if err := decode(&o); err != nil {
				return nil, "", err
			}
			return &o.Spec.Template.Spec, "spec.template.spec", nil
		case "CronJob":
			var o batchv1.CronJob
			if err := decode(&o); err != nil {
				return nil, "", err
			}
			return &o.Spec.JobTemplate.Spec.Template.Spec, "spec.jobTemplate.spec.template.spec", nil
		}
	}
	return nil, "", fmt.Errorf("kind %s is not supported by cnabsec admission (supported: Pod, ReplicationController, apps/v1 Deployment, ReplicaSet, StatefulSet, DaemonSet, batch/v1 Job, CronJob)", gvkString(gvk))
}

func gvkString(gvk metav1.GroupVersionKind) string {
	if gvk.Group == "" {
		return gvk.Version + "/" + gvk.Kind
	}
	return gvk.Group + "/" + gvk.Version + "/" + gvk.Kind
}

// imagesOf lists every image of the pod spec: containers, init containers and
// ephemeral containers.
func imagesOf(spec *corev1.PodSpec, prefix string) []containerImage {
	var out []containerImage
	for i, c := range spec.InitContainers {
		out = append(out, containerImage{path: fmt.Sprintf("%s.initContainers[%d] (%q)", prefix, i, c.Name), image: c.Image})
	}
	for i, c := range spec.Containers {
		out = append(out, containerImage{path: fmt.Sprintf("%s.containers[%d] (%q)", prefix, i, c.Name), image: c.Image})
	}
	for i, c := range spec.EphemeralContainers {
		out = append(out, containerImage{path: fmt.Sprintf("%s.ephemeralContainers[%d] (%q)", prefix, i, c.Name), image: c.Image})
	}
	return out
}
