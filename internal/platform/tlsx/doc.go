// Package tlsx gives Bazaar's services TLS 1.3 listeners and mutual TLS
// between them, with certificates that rotate without a restart.
//
// Three pieces, one file each:
//
//   - GenerateDevPKI (generate.go) creates a development CA and one
//     certificate per service under CertsDir(dataDir), for `bazaar certs`.
//     Each service certificate names the service by its SPIFFE ID,
//     spiffe://bazaar.dev/<service> (ServiceID), which is how a server
//     knows which service is calling. Re-running it keeps every file that
//     is still valid, so it is safe to run at every start.
//   - Reloader (reload.go) serves a certificate, its key and the CA pool
//     from files, and re-reads them when they change on disk. A file caught
//     half written, or a certificate that does not match its key, never
//     replaces a working configuration.
//   - ServerConfig, ClientConfig and their gRPC forms ServerCredentials and
//     ClientCredentials (config.go) build TLS 1.3-only configurations that
//     consult the Reloader at every handshake, so a new connection always
//     uses the files currently on disk while established connections carry
//     on undisturbed.
//
// Wiring a service (the lead's cmd/bazaar does this behind --tls):
//
//	l := tlsx.Layout{Dir: tlsx.CertsDir(dataDir)}
//	r, err := tlsx.NewReloader(l.CertFile("order"), l.KeyFile("order"), l.CACertFile())
//	srv, err := grpcx.NewServer(grpcx.WithServerOptions(
//		grpc.Creds(tlsx.ServerCredentials(r, tlsx.ClientCertOptional))))
//	cc, err := grpcx.NewClient(catalogAddr,
//		grpcx.WithTransportCredentials(tlsx.ClientCredentials(r, "catalog")))
//
// People and tools use the client certificate GenerateDevPKI writes too:
//
//	grpcurl -cacert certs/ca.pem -cert certs/client.pem -key certs/client-key.pem \
//	    -servername catalog 127.0.0.1:8443 list
//
// Plaintext stays the default everywhere else (grpcx uses insecure
// credentials unless given these), so the path's first steps need no PKI.
package tlsx
