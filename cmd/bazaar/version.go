package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at release builds with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// versionString describes the build: version, VCS revision when the build
// recorded one, Go version and platform.
func versionString() string {
	rev := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = " " + s.Value[:12]
			}
		}
	}
	return fmt.Sprintf("bazaar %s%s (%s, %s/%s)", version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
