package grpcserver_test

import (
	"errors"
	"io"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	notificationv1 "github.com/bazaarhq/bazaar/gen/bazaar/notification/v1"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// FuzzChatClientMessage sends arbitrary ClientMessages through the whole
// server chain, first on a stream and after an open: the server never
// panics and ends streams only with the expected codes. The seed corpus
// is in testdata/fuzz/FuzzChatClientMessage.
func FuzzChatClientMessage(f *testing.F) {
	for _, m := range []*notificationv1.ClientMessage{
		open("order-1", 0), join("c-1", 3), send("m1", "hello"), typing(), send("", ""),
		{Kind: &notificationv1.ClientMessage_Read{Read: &notificationv1.MarkMessagesRead{Sequence: 1}}},
		{},
	} {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	h := start(f, config{})
	cl := h.client(f)
	allowed := map[codes.Code]bool{
		codes.OK: true, codes.InvalidArgument: true, codes.FailedPrecondition: true, codes.NotFound: true,
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var m notificationv1.ClientMessage
		if err := proto.Unmarshal(raw, &m); err != nil {
			t.Skip()
		}
		for _, msgs := range [][]*notificationv1.ClientMessage{{&m}, {open("fuzz-order", 0), &m}} {
			ctx, cancel := callCtx(t, alice)
			stream, err := cl.Chat(ctx)
			if err != nil {
				t.Fatalf("Chat() = %v", err)
			}
			for _, msg := range msgs {
				if err := stream.Send(msg); err != nil {
					break // the server ended the stream; Recv says why
				}
			}
			_ = stream.CloseSend()
			for {
				_, err = stream.Recv()
				if err != nil {
					break
				}
			}
			cancel()
			if errors.Is(err, io.EOF) {
				continue
			}
			if d := errs.FromError(err); !allowed[d.Code] {
				t.Fatalf("%v ended %v: %v", msgs, d.Code, err)
			}
		}
	})
}
