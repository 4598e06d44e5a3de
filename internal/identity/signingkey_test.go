package identity_test

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/identity"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// kidOf returns the key id in an access token's header.
func kidOf(t testing.TB, token string) string {
	t.Helper()
	header, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil {
		t.Fatalf("token header: %v", err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("token header: %v", err)
	}
	return h.Kid
}

func (e *env) publicKeys(t testing.TB) []identity.PublicKey {
	t.Helper()
	keys, err := e.svc.PublicKeys(t.Context())
	if err != nil {
		t.Fatalf("PublicKeys() = %v", err)
	}
	return keys
}

func kids(keys []identity.PublicKey) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k.ID)
	}
	return out
}

func (e *env) rotate(t testing.TB) {
	t.Helper()
	if err := e.svc.RotateKeys(t.Context()); err != nil {
		t.Fatalf("RotateKeys() = %v", err)
	}
}

func TestKeyRotationTimeline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register(t, "ada@example.com")
	t0 := e.clock.Now()
	const (
		period   = identity.DefaultSigningPeriod
		ahead    = identity.DefaultPublishAhead
		lifetime = identity.DefaultAccessTokenTTL + auth.DefaultLeeway
	)

	// Start: a key that signs now and the next one, already published.
	e.rotate(t)
	keys := e.publicKeys(t)
	if len(keys) != 2 {
		t.Fatalf("PublicKeys() after the first rotation = %v, want a current and a next key", kids(keys))
	}
	k1, k2 := keys[0], keys[1]
	if !k1.ActivateTime.Equal(t0) || !k1.RetireTime.Equal(t0.Add(period)) || !k1.ExpireTime.Equal(t0.Add(period+lifetime)) {
		t.Errorf("first key schedule = %v..%v, published until %v", k1.ActivateTime, k1.RetireTime, k1.ExpireTime)
	}
	if !k2.ActivateTime.Equal(k1.RetireTime) {
		t.Errorf("next key activates %v, want when the current retires (%v)", k2.ActivateTime, k1.RetireTime)
	}
	if k1.ID != identity.KeyThumbprint(k1.Key) {
		t.Errorf("kid %s is not the key's thumbprint", k1.ID)
	}
	// Rotating again changes nothing.
	events := len(e.topics(t))
	e.rotate(t)
	if got := kids(e.publicKeys(t)); !slices.Equal(got, []string{k1.ID, k2.ID}) || len(e.topics(t)) != events {
		t.Errorf("a second RotateKeys changed the keys: %v", got)
	}

	tok0 := e.login(t, "ada@example.com")
	if kidOf(t, tok0.AccessToken) != k1.ID {
		t.Errorf("token at start signed by %s, want %s", kidOf(t, tok0.AccessToken), k1.ID)
	}

	// Just before the switch: k1 still signs; k2 has been published for
	// longer than PublishAhead.
	e.clock.Advance(period - time.Second)
	lastOfK1 := e.login(t, "ada@example.com")
	if kidOf(t, lastOfK1.AccessToken) != k1.ID {
		t.Errorf("token before the switch signed by %s, want %s", kidOf(t, lastOfK1.AccessToken), k1.ID)
	}
	if !slices.Contains(kids(e.publicKeys(t)), k2.ID) || e.clock.Now().Add(time.Second).Sub(t0) < ahead {
		t.Errorf("the next key was not published PublishAhead before it signs")
	}

	// At the switch k2 signs, without any rotation having run.
	e.clock.Advance(time.Second)
	firstOfK2 := e.login(t, "ada@example.com")
	if kidOf(t, firstOfK2.AccessToken) != k2.ID {
		t.Errorf("token after the switch signed by %s, want %s", kidOf(t, firstOfK2.AccessToken), k2.ID)
	}
	e.rotate(t)
	keys = e.publicKeys(t)
	if len(keys) != 3 || keys[0].ID != k1.ID || keys[1].ID != k2.ID || !keys[2].ActivateTime.Equal(k2.RetireTime) {
		t.Fatalf("PublicKeys() after the switch = %v, want the retired, the current and a new next key", kids(keys))
	}
	k3 := keys[2]

	// k1's last token stays verifiable until it expires.
	e.clock.Advance(identity.DefaultAccessTokenTTL - 2*time.Second)
	e.rotate(t)
	if _, err := e.parse(t, lastOfK1.AccessToken); err != nil {
		t.Errorf("the retired key's last token, still valid, does not verify: %v", err)
	}
	if _, err := e.parse(t, firstOfK2.AccessToken); err != nil {
		t.Errorf("the current key's token does not verify: %v", err)
	}

	// Once every k1 token has expired (plus leeway), k1 leaves the key set.
	e.clock.Advance(2*time.Second + auth.DefaultLeeway)
	e.rotate(t)
	if got := kids(e.publicKeys(t)); !slices.Equal(got, []string{k2.ID, k3.ID}) {
		t.Errorf("PublicKeys() after k1's tokens expired = %v, want [k2 k3]", got)
	}
	_, err := e.parse(t, lastOfK1.AccessToken)
	if r := errs.Reason(errs.ToStatus(err).Err()); r != "UNKNOWN_SIGNING_KEY" {
		t.Errorf("parsing a removed key's token = %v (reason %q), want UNKNOWN_SIGNING_KEY", err, r)
	}
	want := []string{
		identity.TopicSigningKeyPublished, identity.TopicSigningKeyPublished, // start
		identity.TopicSigningKeyPublished, // k3
		identity.TopicSigningKeyRemoved,   // k1
	}
	var keyTopics []string
	for _, tp := range e.topics(t) {
		if strings.HasPrefix(tp, "identity.signing_key.") {
			keyTopics = append(keyTopics, tp)
		}
	}
	if !slices.Equal(keyTopics, want) {
		t.Errorf("signing key events = %v, want %v", keyTopics, want)
	}
}

func TestRotateKeysLateKeepsPublishAhead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register(t, "ada@example.com")
	e.rotate(t)
	k2 := e.publicKeys(t)[1]
	// Rotation stalls until 30 min before k2 retires, with no next key.
	e.clock.Advance(identity.DefaultSigningPeriod + identity.DefaultSigningPeriod - 30*time.Minute)
	e.rotate(t)
	keys := e.publicKeys(t)
	if len(keys) != 2 || keys[0].ID != k2.ID {
		t.Fatalf("PublicKeys() = %v, want k2 and a new next key (k1 long gone)", kids(keys))
	}
	now := e.clock.Now()
	next := keys[1]
	if !next.ActivateTime.Equal(now.Add(identity.DefaultPublishAhead)) {
		t.Errorf("late next key activates %v, want PublishAhead after its publication (%v)", next.ActivateTime, now.Add(identity.DefaultPublishAhead))
	}
	if !keys[0].RetireTime.Equal(next.ActivateTime) {
		t.Errorf("k2 retires %v, want extended to %v", keys[0].RetireTime, next.ActivateTime)
	}
	// 45 minutes on, past k2's original retirement, k2 still signs.
	e.clock.Advance(45 * time.Minute)
	if kid := kidOf(t, e.login(t, "ada@example.com").AccessToken); kid != k2.ID {
		t.Errorf("token signed by %s, want the extended key %s", kid, k2.ID)
	}
	if got := e.topics(t); !slices.Contains(got, identity.TopicSigningKeyRescheduled) {
		t.Errorf("outbox = %v, want a %s event", got, identity.TopicSigningKeyRescheduled)
	}
}

func TestReplicasShareKeys(t *testing.T) {
	t.Parallel()
	st := openSQLite(t)
	replicas := []*env{newEnvOn(t, st), newEnvOn(t, st), newEnvOn(t, st)}
	// All rotate at once at start: one set of keys results.
	var wg sync.WaitGroup
	for _, r := range replicas {
		wg.Go(func() {
			if err := r.svc.RotateKeys(t.Context()); err != nil {
				t.Errorf("RotateKeys() = %v", err)
			}
		})
	}
	wg.Wait()
	first := kids(replicas[0].publicKeys(t))
	for _, r := range replicas[1:] {
		if got := kids(r.publicKeys(t)); !slices.Equal(got, first) || len(got) != 2 {
			t.Errorf("replicas see %v and %v, want the same two keys", first, got)
		}
	}
	// A key made by one replica reaches another within KeyCacheTTL.
	advanceAll := func(d time.Duration) {
		for _, r := range replicas {
			r.clock.Advance(d)
		}
	}
	advanceAll(identity.DefaultSigningPeriod)
	before := kids(replicas[1].publicKeys(t)) // cached now
	replicas[0].rotate(t)
	want := kids(replicas[0].publicKeys(t))
	if len(want) != 3 {
		t.Fatalf("keys after the second rotation = %v, want 3", want)
	}
	if got := kids(replicas[1].publicKeys(t)); !slices.Equal(got, before) {
		t.Errorf("replica 1 = %v within KeyCacheTTL, want its cached %v", got, before)
	}
	advanceAll(identity.DefaultKeyCacheTTL)
	if got := kids(replicas[1].publicKeys(t)); !slices.Equal(got, want) {
		t.Errorf("replica 1 sees %v after KeyCacheTTL, want %v", got, want)
	}
}
