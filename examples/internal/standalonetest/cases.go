package standalonetest

import (
	"context"
	"io"
	"strings"
	"testing"
)

// Case is one command line in the test table of a client program.
type Case struct {
	// Name names the subtest.
	Name string
	// Args follow the flags RunCases puts first.
	Args []string
	// Want is the whole of stdout, when the command succeeds.
	Want string
	// WantErr are substrings of the error, when the command fails.
	WantErr []string
}

// RunCases runs each case as a parallel subtest: it calls
// run(t.Context(), flags + c.Args, stdout) and checks that run prints
// exactly c.Want and returns nil or, when c.WantErr is set, that it returns
// an error containing each of them.
func RunCases(t *testing.T, run func(ctx context.Context, args []string, stdout io.Writer) error, flags []string, cases []Case) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			var out strings.Builder
			err := run(t.Context(), append(append([]string(nil), flags...), c.Args...), &out)
			if c.WantErr == nil {
				if err != nil || out.String() != c.Want {
					t.Errorf("run(%q) = %v, printing %q; want nil, printing %q", c.Args, err, out.String(), c.Want)
				}
				return
			}
			if err == nil {
				t.Fatalf("run(%q) = nil, printing %q; want an error", c.Args, out.String())
			}
			for _, want := range c.WantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("run(%q) = %q, want it to contain %q", c.Args, err, want)
				}
			}
		})
	}
}
