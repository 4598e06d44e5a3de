package payment

import (
	"log/slog"
	"strings"
)

// CardNumber is a card's full number (PAN). It is used for one call to the
// processor and never stored: it prints, formats and logs as its last four
// digits only.
type CardNumber string

// String returns the redacted form, "****4242".
func (c CardNumber) String() string { return "****" + c.Last4() }

// GoString is String, so %#v redacts too.
func (c CardNumber) GoString() string { return c.String() }

// LogValue implements slog.LogValuer: a logged card number is redacted.
func (c CardNumber) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Reveal returns the full number, for the processor.
func (c CardNumber) Reveal() string { return string(c) }

// Last4 returns the last four digits (all of a shorter string).
func (c CardNumber) Last4() string {
	if len(c) <= 4 {
		return string(c)
	}
	return string(c[len(c)-4:])
}

// Valid reports whether c is 12 to 19 digits with a valid Luhn check digit.
func (c CardNumber) Valid() bool {
	if len(c) < 12 || len(c) > 19 {
		return false
	}
	sum := 0
	for i := range len(c) {
		d := c[len(c)-1-i]
		if d < '0' || d > '9' {
			return false
		}
		n := int(d - '0')
		if i%2 == 1 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}

// Brand returns the card network by the number's prefix: "visa",
// "mastercard", "amex", "discover", or "unknown".
func (c CardNumber) Brand() string {
	s := string(c)
	switch {
	case strings.HasPrefix(s, "4"):
		return "visa"
	case strings.HasPrefix(s, "34"), strings.HasPrefix(s, "37"):
		return "amex"
	case strings.HasPrefix(s, "6011"), strings.HasPrefix(s, "65"):
		return "discover"
	case len(s) >= 2 && s[0] == '5' && s[1] >= '1' && s[1] <= '5',
		len(s) >= 4 && s[:4] >= "2221" && s[:4] <= "2720":
		return "mastercard"
	}
	return "unknown"
}
