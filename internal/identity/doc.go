// Package identity is Bazaar's identity service: accounts, passwords,
// sessions, API keys, OAuth2 client-credentials clients and the keys that
// sign access tokens. It holds the use cases ([Service]) and the domain
// types; persistence is behind the [Store] interface (implemented by
// internal/identity/store) and the gRPC transport lives in
// internal/identity/grpcserver. Nothing here imports gRPC or SQL.
//
// # Wiring
//
// A process opens the store, builds the service, makes sure it has signing
// keys and an administrator, serves the API and keeps the keys rotating:
//
//	st, err := store.Open(ctx, "sqlite:///var/lib/bazaar/identity.db")
//	svc, err := identity.New(st, identity.Config{})
//	err = svc.RotateKeys(ctx)
//	created, password, err := svc.EnsureAdmin(ctx, "admin@bazaar.local", "")
//	grpcserver.Register(srv, svc)
//	go svc.RunMaintenance(ctx, identity.DefaultMaintenanceInterval)
//
// # Passwords
//
// Passwords are hashed with argon2id and stored as PHC strings
// ("$argon2id$v=19$m=19456,t=2,p=1$salt$hash"). [VerifyPassword] reads the
// parameters from the stored string, so [DefaultArgon2Params] (the OWASP
// minimum) can be raised later: a successful login re-hashes a password
// whose stored parameters are weaker than the configured ones. A password
// must be 12 to 128 characters and not all of one character class (lower
// case, upper case, digits, anything else), as the API contract promises;
// length is what makes a password strong (NIST SP 800-63B), the class rule
// only refuses the most obvious keyboard runs.
//
// A login with an unknown email still verifies the password against a dummy
// hash with the current parameters, so it costs the same time as a wrong
// password and answers the same UNAUTHENTICATED INVALID_CREDENTIALS.
//
// # Sessions
//
// Login starts a session: a short-lived access token (a JWT signed with the
// current signing key, see internal/platform/auth) and an opaque refresh
// token ("bzr_" + 32 random bytes, base64url). Only the SHA-256 of a refresh
// token is stored. Refresh spends a refresh token and hands out the next
// pair in the same session (rotation). Presenting a spent refresh token
// again means two parties hold it, so the whole session is revoked (reuse
// detection, OAuth 2.0 Security BCP): the newest refresh token of the
// session stops working too. Two concurrent refreshes with the same token
// are the same case: exactly one wins, the other is a reuse. Logout revokes
// the session. The revocation lives on the session row, and every rotation
// updates that row first, so a rotation and a revocation are serialised and
// a refresh token minted by a rotation racing a logout dies with the
// session. A user's roles are read at every refresh, so a role change takes
// effect at the next refresh (within the access token's lifetime).
//
// # Signing keys
//
// Access tokens are signed with Ed25519 keys kept in the identity database
// (in production the private keys would live in a KMS or HSM and only their
// ids and public halves here; the database copy is what makes the embedded
// shape self-contained). Each key's life is fixed by timestamps: it is
// published (in GetJwks) from its creation, signs from its activate time to
// its retire time ([Config.SigningPeriod]), and stays published until every
// token it signed has expired (the access token lifetime plus the leeway),
// when [Service.RotateKeys] removes it. RotateKeys, called at start and
// periodically, keeps a current key and a next key; the next key is
// published at least [Config.PublishAhead] before it signs, which must
// exceed the time verifiers cache the key set. Only a cold start (no key at
// all) creates a key that signs at once. Key ids are RFC 7638 thumbprints.
//
// # API keys and clients
//
// API keys ("bzk_" + 32 random bytes) and client secrets ("bzc_" + 32
// random bytes) are stored only as SHA-256 hashes. A fast hash is right for
// them, unlike passwords: a 256-bit random secret cannot be guessed, so the
// slowness of argon2 would buy nothing and would make every API call pay
// for it. API keys carry scopes, never their owner's roles. A key can only
// be created by a signed-in user (not with another API key), and a scope
// whose action is "admin" only by an administrator (see [Config.CanGrantScope]).
//
// # Events
//
// Every change of state appends an event to the service's transactional
// outbox in the same transaction (see internal/platform/sqldb). Topics are
// the Topic* constants. Until the contract has an events proto, payloads are
// small JSON documents ([UserEvent], [SessionEvent], [APIKeyEvent],
// [ClientEvent], [SigningKeyEvent]); they never carry a secret or a hash.
// Re-hashing a password with stronger parameters and purging expired rows
// are housekeeping, not facts anyone consumes, and append no event.
package identity
