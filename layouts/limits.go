package layouts

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cnabsec/cnabsec/internal/fault"
)

// DefaultMaxJSONValues bounds the JSON values (and object member names) of
// the layout and links one verification parses, when VerifyInput names no
// other bound. Parsing costs memory per value, not per byte: a link of
// tiny values ("0,0,0..." or thousands of one-letter artifacts) takes 40 to
// 230 bytes of memory per value, so 32 MiB of them took over 1.7 GiB. At
// 300,000 values a verification stays under about 70 MiB of parsed
// metadata. A real supply chain is far below it: one artifact recorded in a
// link is 4 values, so two steps recording 10,000 artifacts each as
// materials and products (120,000 values) fit twice over.
const DefaultMaxJSONValues = 300_000

// ErrInputTooLarge is wrapped by the denial of a layout and links with more
// JSON values than the verification allows, found before any is parsed.
var ErrInputTooLarge = errors.New("in-toto metadata over the verification's limit")

// CountJSONValues returns an upper bound of the JSON values and object
// member names in b, without parsing it or allocating: one for each ',',
// ':', '{' and '[' outside strings, plus one. On valid JSON it counts every
// value and member name (an empty object or array counts one more).
func CountJSONValues(b []byte) int {
	n := 1
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			i = stringEnd(b, i+1)
		case ',', ':', '{', '[':
			n++
		}
	}
	return n
}

// stringEnd returns the index of the quote that ends a string whose content
// starts at b[i] (len(b) when none does): the first quote after an even
// run of backslashes.
func stringEnd(b []byte, i int) int {
	for {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return len(b)
		}
		end, k := i+q, i+q
		for k > i && b[k-1] == '\\' {
			k--
		}
		if (end-k)%2 == 0 {
			return end
		}
		i = end + 1
	}
}

// CheckInputSize is the check of the bounds on the metadata verified.
const CheckInputSize = "in-toto input size"

// checkJSONValues denies an input whose layout and links together hold
// more JSON values than the bound, before anything is parsed.
func checkJSONValues(in VerifyInput) (*Result, error) {
	limit := in.MaxJSONValues
	if limit <= 0 {
		limit = DefaultMaxJSONValues
	}
	n := CountJSONValues(in.Layout)
	for _, b := range in.Links {
		n += CountJSONValues(b)
	}
	if n <= limit {
		return nil, nil
	}
	detail := fmt.Sprintf("the layout and %d links hold %d JSON values, more than the limit of %d per verification", len(in.Links), n, limit)
	res := &Result{Checks: []Check{{Name: CheckInputSize, Subject: in.LayoutName, Status: Fail, Detail: detail}}}
	return res, fault.Deniedf("%s: %s: %s: %w", CheckInputSize, in.LayoutName, detail, ErrInputTooLarge)
}
