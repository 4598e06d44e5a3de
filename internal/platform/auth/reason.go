package auth

// The ErrorInfo reasons of the errors an Authenticator answers with. They
// are part of the API: clients switch on them (a gateway turns
// TOKEN_EXPIRED into "refresh and retry").
const (
	// ReasonCredentialsRequired (UNAUTHENTICATED): the method is not public
	// and the call carried no credential.
	ReasonCredentialsRequired = "CREDENTIALS_REQUIRED"
	// ReasonCredentialsMalformed (UNAUTHENTICATED): an "authorization" or
	// "x-api-key" header that is not a well-formed credential.
	ReasonCredentialsMalformed = "CREDENTIALS_MALFORMED"
	// ReasonCredentialsAmbiguous (UNAUTHENTICATED): more than one credential
	// (a bearer token and an API key, or a header sent twice).
	ReasonCredentialsAmbiguous = "CREDENTIALS_AMBIGUOUS"
	// ReasonCredentialsUnsupported (UNAUTHENTICATED): a kind of credential
	// this server is not configured to accept.
	ReasonCredentialsUnsupported = "CREDENTIALS_UNSUPPORTED"
	// ReasonTokenInvalid (UNAUTHENTICATED): an access token that does not
	// verify (see TokenParser.Parse).
	ReasonTokenInvalid = "TOKEN_INVALID"
	// ReasonTokenExpired (UNAUTHENTICATED): an access token past its exp
	// at the start of a call, or a credential that expired during one.
	ReasonTokenExpired = "TOKEN_EXPIRED"
	// ReasonUnknownSigningKey (UNAUTHENTICATED): an access token whose kid
	// is not in the key set, even after refetching it.
	ReasonUnknownSigningKey = "UNKNOWN_SIGNING_KEY"
	// ReasonKeySetUnavailable (UNAVAILABLE): the key set could not be
	// fetched, so the token cannot be checked now; retry.
	ReasonKeySetUnavailable = "KEY_SET_UNAVAILABLE"
	// ReasonAPIKeyInvalid (UNAUTHENTICATED): an unknown, expired or revoked
	// API key.
	ReasonAPIKeyInvalid = "API_KEY_INVALID"
	// ReasonAPIKeyVerifierUnavailable (UNAVAILABLE): the API key could not
	// be checked now; retry.
	ReasonAPIKeyVerifierUnavailable = "API_KEY_VERIFIER_UNAVAILABLE"
	// ReasonPolicyDenied (PERMISSION_DENIED): a valid credential the
	// method's policy does not admit. Metadata "method" names the method.
	ReasonPolicyDenied = "POLICY_DENIED"
)
