// Package auth decides who may call what. Every RPC declares its access
// policy in its proto contract with the bazaar.options.v1.policy method
// option; this package reads those options from the descriptors (Policies),
// checks them for sense, and defines the Authorizer the server's
// interceptor consults on every call, unary and streaming alike.
//
// Token verification, API keys and mTLS peer identities plug in here as
// Authorizers (the identity issue); until one is configured the server
// admits public methods only (PublicOnly).
package auth
