package server

import "encoding/json"

// jsonUnmarshal decodes exactly one JSON value (json.Unmarshal refuses
// trailing data).
func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
