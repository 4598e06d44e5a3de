package standalone

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// Client describes one example client program's command line:
//
//	client [-addr HOST:PORT] [-timeout D] COMMAND ARGS...
type Client struct {
	// DefaultAddr is the default of -addr: where the example's server
	// program listens by default.
	DefaultAddr string
	// Usage is printed, then the flags' defaults, on -h and on a missing or
	// unknown command.
	Usage string
	// Commands are the names of the commands, in the order errors list
	// them.
	Commands []string
}

// CommandLine is a client's command line, parsed.
type CommandLine struct {
	// Addr is the server's address, host:port (-addr).
	Addr string
	// Timeout is the deadline for the whole command (-timeout, default
	// 30s); it is always positive.
	Timeout time.Duration
	// Command is one of Client.Commands.
	Command string
	// Args are the arguments after the command, flags included.
	Args []string
}

// Parse parses args as c describes them. Flags end at the command: what
// follows, "-5" included, is the command's. It writes its usage to stdout
// on -h, returning flag.ErrHelp, and on a missing or unknown command,
// returning an error that lists the commands. It fails too on an unknown
// flag or a -timeout that is not positive.
func (c Client) Parse(args []string, stdout io.Writer) (CommandLine, error) {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), c.Usage)
		fs.PrintDefaults()
	}
	var cl CommandLine
	fs.StringVar(&cl.Addr, "addr", c.DefaultAddr, "server address, host:port")
	fs.DurationVar(&cl.Timeout, "timeout", 30*time.Second, "deadline for the whole command")
	if err := fs.Parse(args); err != nil {
		return CommandLine{}, err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return CommandLine{}, errors.New("missing command: want " + c.commandList())
	}
	if cl.Timeout <= 0 {
		return CommandLine{}, fmt.Errorf("-timeout %v: want a positive duration", cl.Timeout)
	}
	cl.Command, cl.Args = fs.Arg(0), fs.Args()[1:]
	if !slices.Contains(c.Commands, cl.Command) {
		fs.Usage()
		return CommandLine{}, fmt.Errorf("unknown command %q: want %s", cl.Command, c.commandList())
	}
	return cl, nil
}

// Dial parses args as Parse does, then returns the command line and a
// connection to its -addr built with the platform's client stack
// (grpcx.NewClient): retries of UNAVAILABLE, keepalive, a circuit breaker.
// Like grpc.NewClient it connects at the first call, not now. The caller
// closes the connection.
func (c Client) Dial(args []string, stdout io.Writer) (CommandLine, *grpc.ClientConn, error) {
	cl, err := c.Parse(args, stdout)
	if err != nil {
		return CommandLine{}, nil, err
	}
	cc, err := grpcx.NewClient(cl.Addr)
	if err != nil {
		return CommandLine{}, nil, err
	}
	return cl, cc, nil
}

// commandList names the commands for an error: "a, b or c".
func (c Client) commandList() string {
	switch n := len(c.Commands); n {
	case 0:
		return "none"
	case 1:
		return c.Commands[0]
	default:
		return strings.Join(c.Commands[:n-1], ", ") + " or " + c.Commands[n-1]
	}
}
