package pagetoken_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/pagetoken"
)

type cursor struct {
	ID    string `json:"id"`
	Price int64  `json:"price"`
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	c := pagetoken.New("bazaar.test.v1")
	tok := c.Encode("category=kitchen", cursor{ID: "p-9", Price: 1250})
	var got cursor
	if err := c.Decode(tok, "category=kitchen", &got); err != nil || got != (cursor{ID: "p-9", Price: 1250}) {
		t.Fatalf("Decode(Encode(c)) = %+v, %v; want the cursor back", got, err)
	}
}

func TestRefused(t *testing.T) {
	t.Parallel()
	c := pagetoken.New("bazaar.test.v1")
	tok := c.Encode("category=kitchen", cursor{ID: "p-9"})
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)/2] ^= 1
	for name, tc := range map[string]struct {
		codec   pagetoken.Codec
		token   string
		listing string
	}{
		"other listing": {c, tok, "category=garden"},
		"other API":     {pagetoken.New("bazaar.other.v1"), tok, "category=kitchen"},
		"altered":       {c, base64.RawURLEncoding.EncodeToString(flipped), "category=kitchen"},
		"truncated":     {c, tok[:len(tok)-3], "category=kitchen"},
		"not base64":    {c, "!!!", "category=kitchen"},
		"empty":         {c, "", "category=kitchen"},
		"oversized":     {c, strings.Repeat("A", pagetoken.MaxLen+1), "category=kitchen"},
	} {
		var got cursor
		err := tc.codec.Decode(tc.token, tc.listing, &got)
		d := errs.FromError(errs.ToStatus(err).Err())
		if d.Code != codes.InvalidArgument || d.Reason != pagetoken.Reason || len(d.FieldViolations) != 1 || d.FieldViolations[0].Field != "page_token" {
			t.Errorf("Decode(%s) = %v, want INVALID_ARGUMENT %s on page_token", name, err, pagetoken.Reason)
		}
	}
	// A cursor with fields the decoder does not know is refused too.
	wide := c.Encode("l", struct {
		ID    string `json:"id"`
		Extra int    `json:"extra"`
	}{"x", 1})
	var narrow cursor
	if err := c.Decode(wide, "l", &narrow); err == nil {
		t.Errorf("Decode(token with an unknown field) = nil, want a refusal")
	}
}

func FuzzDecode(f *testing.F) {
	c := pagetoken.New("bazaar.test.v1")
	f.Add(c.Encode("l", cursor{ID: "a"}))
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, token string) {
		var got cursor
		if err := c.Decode(token, "l", &got); err != nil {
			if errs.FromError(errs.ToStatus(err).Err()).Reason != pagetoken.Reason {
				t.Fatalf("Decode(%q) = %v, want only %s refusals", token, err, pagetoken.Reason)
			}
		}
	})
}
