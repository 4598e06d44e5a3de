// Package auth decides who may call what. Every RPC declares its access
// policy in its proto contract with the bazaar.options.v1.policy method
// option; this package reads those options from the descriptors (Policies),
// checks them for sense, and defines the Authorizer the server's
// interceptor consults on every call, unary and streaming alike.
//
// Authenticator is the production Authorizer: it verifies bearer access
// tokens locally against the identity service's published keys (KeySet,
// with a cache of verified tokens), API keys through the identity service on
// every call (so revocation is immediate), and mTLS peers by their SPIFFE
// service identity; then it admits the caller by the method's policy (deny
// by default). A server with no Authorizer admits public methods only
// (PublicOnly).
package auth
