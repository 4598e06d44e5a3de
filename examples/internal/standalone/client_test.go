package standalone_test

import (
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/examples/internal/standalone"
)

func TestClientParse(t *testing.T) {
	t.Parallel()
	client := standalone.Client{DefaultAddr: "127.0.0.1:50050", Usage: "usage: client [flags] COMMAND\n", Commands: []string{"add", "sub", "max"}}
	tests := []struct {
		name      string
		args      []string
		want      standalone.CommandLine
		wantErr   string // a substring of the error, when Parse fails
		wantUsage bool   // whether Parse prints the usage
	}{
		{name: "defaults", args: []string{"add", "1", "2"},
			want: standalone.CommandLine{Addr: "127.0.0.1:50050", Timeout: 30 * time.Second, Command: "add", Args: []string{"1", "2"}}},
		{name: "flags", args: []string{"-addr", "example.com:443", "-timeout", "5s", "max"},
			want: standalone.CommandLine{Addr: "example.com:443", Timeout: 5 * time.Second, Command: "max", Args: []string{}}},
		{name: "flags end at the command", args: []string{"sub", "-5", "-timeout", "3"},
			want: standalone.CommandLine{Addr: "127.0.0.1:50050", Timeout: 30 * time.Second, Command: "sub", Args: []string{"-5", "-timeout", "3"}}},
		{name: "help", args: []string{"-h"}, wantErr: "help requested", wantUsage: true},
		{name: "no command", args: nil, wantErr: "missing command: want add, sub or max", wantUsage: true},
		{name: "unknown command", args: []string{"pow", "2", "3"}, wantErr: `unknown command "pow": want add, sub or max`, wantUsage: true},
		{name: "unknown flag", args: []string{"-port", "1", "add"}, wantErr: "flag provided but not defined", wantUsage: true},
		{name: "zero timeout", args: []string{"-timeout", "0s", "add"}, wantErr: "-timeout 0s: want a positive duration"},
		{name: "negative timeout", args: []string{"-timeout", "-1s", "add"}, wantErr: "-timeout -1s: want a positive duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out strings.Builder
			got, err := client.Parse(tt.args, &out)
			if tt.wantErr == "" {
				if err != nil || got.Addr != tt.want.Addr || got.Timeout != tt.want.Timeout ||
					got.Command != tt.want.Command || !slices.Equal(got.Args, tt.want.Args) {
					t.Errorf("Parse(%q) = %+v, %v; want %+v, nil", tt.args, got, err, tt.want)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
			}
			usage := strings.Contains(out.String(), client.Usage) && strings.Contains(out.String(), "-timeout duration")
			if usage != tt.wantUsage {
				t.Errorf("Parse(%q) printed %q; want the usage and flags printed: %v", tt.args, out.String(), tt.wantUsage)
			}
		})
	}
}

// TestClientParseHelp checks that -h returns flag.ErrHelp, which Main does
// not count as a failure.
func TestClientParseHelp(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	if _, err := (standalone.Client{}).Parse([]string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("Parse(-h) = %v, want flag.ErrHelp", err)
	}
}

func TestClientDial(t *testing.T) {
	t.Parallel()
	client := standalone.Client{DefaultAddr: "127.0.0.1:50050", Commands: []string{"add"}}
	cl, cc, err := client.Dial([]string{"add", "1", "2"}, io.Discard)
	if err != nil {
		t.Fatalf("Dial(add 1 2) = %v", err)
	}
	defer func() { _ = cc.Close() }()
	if cl.Command != "add" || cc.Target() != "127.0.0.1:50050" {
		t.Errorf("Dial(add 1 2) = %+v, a connection to %q; want add, a connection to the default address", cl, cc.Target())
	}

	if _, cc, err := client.Dial([]string{"pow"}, io.Discard); err == nil || cc != nil {
		t.Errorf("Dial(pow) = %v, %v; want no connection and Parse's error", cc, err)
	}
}
