package ratelimit

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	optionsv1 "github.com/bazaarhq/bazaar/gen/bazaar/options/v1"
)

// MethodCost returns the cost md declares with the
// (bazaar.options.v1.rate_limit) method option: 1 when the option is unset
// or its cost is 0, and 0 for an exempt method.
func MethodCost(md protoreflect.MethodDescriptor) int {
	opts := md.Options()
	if opts == nil || !proto.HasExtension(opts, optionsv1.E_RateLimit) {
		return 1
	}
	rl, _ := proto.GetExtension(opts, optionsv1.E_RateLimit).(*optionsv1.RateLimit)
	if rl.GetExempt() {
		return 0
	}
	c := rl.GetCost()
	if c == 0 {
		return 1
	}
	return int(min(c, math.MaxInt32)) // an int on every platform
}

// Cost returns what one call of fullMethod ("/pkg.Service/Method") takes
// from its caller's bucket: its declared cost, or 1 for a method that
// declares none or that the limiter does not know.
func (l *Limiter) Cost(fullMethod string) int {
	if c, ok := l.costs[fullMethod]; ok {
		return c
	}
	return 1
}

// loadCosts reads the cost of every method of every service in the global
// proto registry, where generated code registers its files before main
// runs, keeping those other than 1. A method file registered after New
// (none in Bazaar) costs 1. It fails, naming every offender, when a cost
// exceeds maxCost.
func loadCosts(maxCost int) (map[string]int, error) {
	costs := make(map[string]int)
	var problems []string
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		services := fd.Services()
		for i := range services.Len() {
			sd := services.Get(i)
			methods := sd.Methods()
			for j := range methods.Len() {
				md := methods.Get(j)
				c := MethodCost(md)
				if c == 1 {
					continue
				}
				full := "/" + string(sd.FullName()) + "/" + string(md.Name())
				costs[full] = c
				if c > maxCost {
					problems = append(problems, fmt.Sprintf("%s costs %d", full, c))
				}
			}
		}
		return true
	})
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("ratelimit: methods cost more than a bucket holds (burst %d), so no caller could ever call them:\n  %s",
			maxCost, strings.Join(problems, "\n  "))
	}
	return costs, nil
}
