package server

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// containerImage is one image a workload runs, with where it is named.
type containerImage struct {
	prefix string // the pod spec's path, e.g. spec.template.spec
	field  string // containers, initContainers or ephemeralContainers
	index  int
	name   string
	image  string
}

// path is where the image is named, e.g. spec.template.spec.initContainers[0] ("setup").
func (c containerImage) path() string {
	return fmt.Sprintf("%s.%s[%d] (%q)", c.prefix, c.field, c.index, c.name)
}

// Only the parts of a workload that name images are decoded: the API server
// has validated the object already, and decoding every field of the full
// typed object (resource quantities, probes, volumes...) costs most of an
// admission request's time. The field names are those of k8s.io/api/core/v1.
type (
	container struct {
		Name  string `json:"name"`
		Image string `json:"image"`
	}
	podSpec struct {
		InitContainers      []container `json:"initContainers"`
		Containers          []container `json:"containers"`
		EphemeralContainers []container `json:"ephemeralContainers"`
	}
	podTemplate struct {
		Spec podSpec `json:"spec"`
	}
	// workload covers Pod (spec), the controllers (spec.template.spec) and
	// CronJob (spec.jobTemplate.spec.template.spec).
	workload struct {
		Spec struct {
			podSpec
			Template    *podTemplate `json:"template"`
			JobTemplate *struct {
				Spec struct {
					Template podTemplate `json:"template"`
				} `json:"spec"`
			} `json:"jobTemplate"`
		} `json:"spec"`
	}
)

// supportedKinds maps each kind the webhook reads to the path of its pod spec.
var supportedKinds = map[metav1.GroupVersionKind]string{
	{Group: "", Version: "v1", Kind: "Pod"}:                   "spec",
	{Group: "", Version: "v1", Kind: "ReplicationController"}: "spec.template.spec",
	{Group: "apps", Version: "v1", Kind: "Deployment"}:        "spec.template.spec",
	{Group: "apps", Version: "v1", Kind: "ReplicaSet"}:        "spec.template.spec",
	{Group: "apps", Version: "v1", Kind: "StatefulSet"}:       "spec.template.spec",
	{Group: "apps", Version: "v1", Kind: "DaemonSet"}:         "spec.template.spec",
	{Group: "batch", Version: "v1", Kind: "Job"}:              "spec.template.spec",
	{Group: "batch", Version: "v1", Kind: "CronJob"}:          "spec.jobTemplate.spec.template.spec",
}

// podSpecOf decodes a workload object of a supported kind and returns its pod
// spec and the path to it.
func podSpecOf(gvk metav1.GroupVersionKind, raw []byte) (*podSpec, string, error) {
	if _, ok := supportedKinds[gvk]; !ok {
		return specFor(gvk, nil)
	}
	if len(raw) == 0 {
		return specFor(gvk, nil)
	}
	var w workload
	if err := jsonUnmarshal(raw, &w); err != nil {
		return nil, "", fmt.Errorf("decoding %s: %w", gvk.Kind, err)
	}
	return specFor(gvk, &w)
}

// specFor returns the pod spec of a decoded workload of a supported kind and
// the path to it. Unsupported kinds are an error: the webhook is registered
// for exactly the kinds listed here, and a kind it cannot read is never
// admitted unchecked. A nil w is a request without an object.
func specFor(gvk metav1.GroupVersionKind, w *workload) (*podSpec, string, error) {
	path, ok := supportedKinds[gvk]
	if !ok {
		return nil, "", fmt.Errorf("kind %s is not supported by cnabsec admission (supported: Pod, ReplicationController, apps/v1 Deployment, ReplicaSet, StatefulSet, DaemonSet, batch/v1 Job, CronJob)", gvkString(gvk))
	}
	if w == nil {
		return nil, "", fmt.Errorf("%s: the request carries no object", gvk.Kind)
	}
	switch path {
	case "spec":
		return &w.Spec.podSpec, path, nil
	case "spec.template.spec":
		if w.Spec.Template == nil {
			return &podSpec{}, path, nil
		}
		return &w.Spec.Template.Spec, path, nil
	default:
		if w.Spec.JobTemplate == nil {
			return &podSpec{}, path, nil
		}
		return &w.Spec.JobTemplate.Spec.Template.Spec, path, nil
	}
}

func gvkString(gvk metav1.GroupVersionKind) string {
	if gvk.Group == "" {
		return gvk.Version + "/" + gvk.Kind
	}
	return gvk.Group + "/" + gvk.Version + "/" + gvk.Kind
}

// imagesOf lists every image of the pod spec: containers, init containers and
// ephemeral containers.
func imagesOf(spec *podSpec, prefix string) []containerImage {
	out := make([]containerImage, 0, len(spec.InitContainers)+len(spec.Containers)+len(spec.EphemeralContainers))
	for _, list := range []struct {
		field string
		cs    []container
	}{{"initContainers", spec.InitContainers}, {"containers", spec.Containers}, {"ephemeralContainers", spec.EphemeralContainers}} {
		for i, c := range list.cs {
			out = append(out, containerImage{prefix: prefix, field: list.field, index: i, name: c.Name, image: c.Image})
		}
	}
	return out
}
