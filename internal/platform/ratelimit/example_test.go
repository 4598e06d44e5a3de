package ratelimit_test

import (
	"fmt"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/ratelimit"
)

func ExampleLimiter_Allow() {
	now := time.Date(2030, time.January, 1, 12, 0, 0, 0, time.UTC)
	l, err := ratelimit.New(ratelimit.WithRate(2, 10), ratelimit.WithClock(func() time.Time { return now }))
	if err != nil {
		panic(err)
	}
	ok, _ := l.Allow("user:ada", 10, false) // the whole burst at once
	fmt.Println(ok)
	ok, wait := l.Allow("user:ada", 1, false) // nothing left: wait for a token
	fmt.Println(ok, wait)
	now = now.Add(wait)
	ok, _ = l.Allow("user:ada", 1, false)
	fmt.Println(ok)
	// Output:
	// true
	// false 500ms
	// true
}
