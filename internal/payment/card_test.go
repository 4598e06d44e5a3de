package payment_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/bazaarhq/bazaar/internal/payment"
)

func TestCardNumber(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		number string
		valid  bool
		brand  string
	}{
		{"4242424242424242", true, "visa"},
		{"4000000000000002", true, "visa"},
		{"5555555555554444", true, "mastercard"},
		{"2223003122003222", true, "mastercard"},
		{"378282246310005", true, "amex"},
		{"6011111111111117", true, "discover"},
		{"4242424242424241", false, "visa"}, // check digit
		{"42424242424", false, "visa"},      // too short
		{"42424242424242424242", false, ""}, // too long
		{"4242 4242 4242 4242", false, ""},  // not digits
		{"", false, ""},
	} {
		c := payment.CardNumber(tc.number)
		if c.Valid() != tc.valid {
			t.Errorf("CardNumber(%q).Valid() = %v, want %v", tc.number, c.Valid(), tc.valid)
		}
		if tc.brand != "" && c.Brand() != tc.brand {
			t.Errorf("CardNumber(%q).Brand() = %q, want %q", tc.number, c.Brand(), tc.brand)
		}
	}
}

func TestCardNumberNeverPrints(t *testing.T) {
	t.Parallel()
	c := payment.CardNumber("4242424242424242")
	var log bytes.Buffer
	slog.New(slog.NewTextHandler(&log, nil)).Info("charging", "card", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %s %#v %+v", c, c, c, c),
		fmt.Sprintf("%+v", payment.AuthorizeRequest{Card: c}), log.String()} {
		if strings.Contains(s, "424242424242") {
			t.Errorf("a card number printed as %q, want it redacted", s)
		}
	}
	if c.String() != "****4242" || c.Reveal() != "4242424242424242" {
		t.Errorf("String() = %q, Reveal() = %q", c.String(), c.Reveal())
	}
}
