package server

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// jsonUnmarshal decodes exactly one JSON value (trailing data is refused).
func jsonUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}
