//go:build !linux

package bench

import "time"

// SampleMachine has nothing to read outside Linux: Machine then returns nil.
func SampleMachine() MachineSample { return MachineSample{At: time.Now()} }
