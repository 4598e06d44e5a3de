package notification

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// jsonInt is an integer of an event payload that also accepts the shapes a
// payload may take after a trip through google.protobuf.Struct (the event
// transport's default for JSON payloads, whose numbers are doubles): float
// notation ("25.0", "1.25e+10"; exact up to 2^53) or a decimal string (how
// producers are told to send larger integers).
type jsonInt int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *jsonInt) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(b, `"`)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if v, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		*n = jsonInt(v)
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return fmt.Errorf("notification: %q is not an integer", b)
	}
	*n = jsonInt(f)
	return nil
}

var _ json.Unmarshaler = (*jsonInt)(nil)
