package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
)

// failpoints turns BAZAAR_FAILPOINTS ("after-authorize" or several,
// comma-separated) into the order saga's failpoint hook, for the crash
// tests: the first time the saga reaches a named point it prints
// "failpoint NAME reached" on out and pauses there until process (the
// process's context) ends, whatever the call's own context does: the test
// kills it with SIGKILL, a crash between two saga steps. nil when spec is
// empty: the production setting.
func failpoints(process context.Context, spec string, out io.Writer) func(ctx context.Context, name string) error {
	if spec == "" {
		return nil
	}
	armed := map[string]bool{}
	for _, n := range strings.Split(spec, ",") {
		if n = strings.TrimSpace(n); n != "" {
			armed[n] = true
		}
	}
	var mu sync.Mutex
	return func(_ context.Context, name string) error {
		mu.Lock()
		hit := armed[name]
		delete(armed, name)
		mu.Unlock()
		if !hit {
			return nil
		}
		fmt.Fprintf(out, "failpoint %s reached\n", name)
		<-process.Done()
		return context.Cause(process)
	}
}
