package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/bazaarhq/bazaar/internal/platform/tlsx"
)

// serviceNames lists the services of the process, in services order.
func serviceNames() []string {
	names := make([]string, len(services))
	for i, s := range services {
		names[i] = s.name
	}
	return names
}

// certs creates (or keeps, when still good) the development CA and one
// certificate per service, plus a client certificate for tools, under
// DATA_DIR/certs.
func certs(args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bazaar certs", flag.ContinueOnError)
	fs.SetOutput(stdout)
	dataDir := fs.String("data-dir", envOr(getenv, "DATA_DIR", "./bazaar-data"), "data directory; certificates go to DATA_DIR/certs (env BAZAAR_DATA_DIR)")
	renew := fs.Bool("renew", false, "re-issue every service and client certificate from the existing CA")
	force := fs.Bool("force", false, "replace the CA too (every process must then load the new ca.pem)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bazaar certs takes no arguments, got %q", fs.Args())
	}
	var opts []tlsx.GenerateOption
	if *renew {
		opts = append(opts, tlsx.WithRenew())
	}
	if *force {
		opts = append(opts, tlsx.WithForce())
	}
	pki, err := tlsx.GenerateDevPKI(tlsx.CertsDir(*dataDir), serviceNames(), opts...)
	if err != nil {
		return err
	}
	state := func(reused bool) string {
		if reused {
			return "kept"
		}
		return "created"
	}
	fmt.Fprintf(stdout, "CA      %s (%s, until %s)\n", pki.CA.CertFile, state(pki.CA.Reused), pki.CA.Cert.NotAfter.Format("2006-01-02"))
	for _, kp := range append(pki.Services, pki.Client) {
		fmt.Fprintf(stdout, "%-7.7s %s (%s, %s, until %s)\n", kp.Name, kp.CertFile, state(kp.Reused),
			kp.Cert.URIs[0], kp.Cert.NotAfter.Format("2006-01-02"))
	}
	return nil
}

// envOr returns BAZAAR_name from getenv, or def.
func envOr(getenv func(string) string, name, def string) string {
	if v := getenv("BAZAAR_" + name); v != "" {
		return v
	}
	return def
}
