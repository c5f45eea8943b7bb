package layouts

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// hostileShapes builds envelopes of about size bytes whose bulk is one shape
// a hostile link could use against the parser: deep nesting (repeated at the
// depth limit), escapes, lone surrogates, a huge number, many members with a
// long shared prefix, many empty objects, many artifacts, one long string.
var hostileShapes = map[string]func(size int) []byte{
	"deep-nesting": func(size int) []byte {
		const depth = maxJSONDepth - 10
		one := strings.Repeat("[", depth) + strings.Repeat("]", depth)
		return byproducts("[" + strings.TrimSuffix(strings.Repeat(one+",", max(1, size/(len(one)+1))), ",") + "]")
	},
	"escapes": func(size int) []byte {
		return byproducts(`"` + strings.Repeat(`\u00e9\n\"`, size/10) + `"`)
	},
	"lone-surrogates": func(size int) []byte {
		return byproducts(`"` + strings.Repeat(`\ud800`, size/6) + `"`)
	},
	"huge-number": func(size int) []byte {
		return byproducts(strings.Repeat("9", size))
	},
	"shared-prefix-members": func(size int) []byte {
		prefix := strings.Repeat("p", 1000)
		var b strings.Builder
		b.WriteString("{")
		for i := 0; b.Len() < size; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"%s%d":0`, prefix, i)
		}
		b.WriteString("}")
		return byproducts(b.String())
	},
	"empty-objects": func(size int) []byte {
		return byproducts("[" + strings.TrimSuffix(strings.Repeat("{},", size/3), ",") + "]")
	},
	"artifacts": func(size int) []byte {
		var b bytes.Buffer
		b.WriteString(`{"signed":{"_type":"link","name":"x","materials":{`)
		for i := 0; b.Len() < size; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"src/f%07d.txt":{"sha256":"%064x"}`, i, i)
		}
		b.WriteString(`},"products":{},"byproducts":{},"command":[],"environment":{}},"signatures":[]}`)
		return b.Bytes()
	},
	"long-string": func(size int) []byte {
		return byproducts(`"` + strings.Repeat("a", size) + `"`)
	},
}

func byproducts(v string) []byte {
	return []byte(`{"signed":{"_type":"link","name":"x","materials":{},"products":{},"byproducts":{"v":` + v +
		`},"command":[],"environment":{}},"signatures":[]}`)
}

// BenchmarkParseEnvelopeHostile parses each hostile shape at 256 KiB and at
// 4 MiB (16 times more) and reports ns/byte for each: equal ns/byte at both
// sizes means the parser is linear in that shape.
func BenchmarkParseEnvelopeHostile(b *testing.B) {
	for _, shape := range []string{"deep-nesting", "escapes", "lone-surrogates", "huge-number", "shared-prefix-members", "empty-objects", "artifacts", "long-string"} {
		for _, size := range []int{256 << 10, 4 << 20} {
			in := hostileShapes[shape](size)
			b.Run(fmt.Sprintf("%s/%dKiB", shape, size>>10), func(b *testing.B) {
				b.SetBytes(int64(len(in)))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					parseEnvelope(in)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(in)), "ns/byte")
			})
		}
	}
}
