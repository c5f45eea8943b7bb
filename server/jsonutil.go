package server

import jsonv2 "github.com/go-json-experiment/json"

// jsonUnmarshal decodes exactly one JSON value with encoding/json/v2's
// semantics, which are the API server's own: member names match exactly (no
// case folding), a duplicate member name or invalid UTF-8 is an error, and
// trailing data is refused. A review cannot then mean one thing to the API
// server and another to the webhook. It is also about three times faster
// than encoding/json on a review of a few KiB. Its error texts deliberately
// vary ("cannot" or "unable to"): tests match the stable part only.
func jsonUnmarshal(data []byte, v any) error { return jsonv2.Unmarshal(data, v) }
