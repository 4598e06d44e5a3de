package grpcx_test

import (
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"

	hellov1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
)

// TestPingFloodGetsGoAway speaks raw HTTP/2 to flood the server with PINGs:
// that connection must get GOAWAY ENHANCE_YOUR_CALM "too_many_pings", and
// every other client must be served as before.
func TestPingFloodGetsGoAway(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	conn, err := net.Dial("tcp", f.cc.Target())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := fr.WritePing(false, [8]byte{byte(i)}); err != nil {
			break // the server may already have hung up
		}
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		frame, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("connection ended without GOAWAY: %v", err)
		}
		if ga, ok := frame.(*http2.GoAwayFrame); ok {
			if ga.ErrCode != http2.ErrCodeEnhanceYourCalm || string(ga.DebugData()) != "too_many_pings" {
				t.Errorf("GOAWAY = %v %q, want ENHANCE_YOUR_CALM too_many_pings", ga.ErrCode, ga.DebugData())
			}
			break
		}
	}
	if _, err := f.client.SayHello(t.Context(), &hellov1.SayHelloRequest{Name: "bystander"}); err != nil {
		t.Errorf("SayHello from another client after the flood = %v, want OK", err)
	}
}
