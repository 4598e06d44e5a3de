package grpcserver_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	notificationv1 "github.com/bazaarhq/bazaar/gen/bazaar/notification/v1"
	optionsv1 "github.com/bazaarhq/bazaar/gen/bazaar/options/v1"
	"github.com/bazaarhq/bazaar/internal/notification"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

func serviceMethods() protoreflect.MethodDescriptors {
	return notificationv1.File_bazaar_notification_v1_notification_proto.Services().ByName("NotificationService").Methods()
}

// TestEveryMethodHasAPolicy: the server refuses to start without one, and
// every method of this API is for signed-in users.
func TestEveryMethodHasAPolicy(t *testing.T) {
	t.Parallel()
	ms := serviceMethods()
	for i := range ms.Len() {
		m := ms.Get(i)
		p, _ := proto.GetExtension(m.Options(), optionsv1.E_Policy).(*optionsv1.MethodPolicy)
		if p == nil || !p.GetAuthenticated() || p.GetPublic() {
			t.Errorf("%s policy = %v, want authenticated", m.FullName(), p)
		}
	}
}

// fuzzAllowed are the codes a call may answer a well-formed but arbitrary
// request with; anything else (INTERNAL, UNKNOWN, UNAVAILABLE) is a bug.
var fuzzAllowed = map[codes.Code]bool{
	codes.OK: true, codes.InvalidArgument: true, codes.PermissionDenied: true, codes.ResourceExhausted: true,
}

// FuzzNotificationRequests decodes arbitrary bytes as the request of each
// method (SubscribeNotifications included: its first answer is read) and
// calls it through the real server chain over SQLite, as a customer and as
// an admin. Every answer must be OK or an expected client error with an
// ErrorInfo reason; nothing may panic. The committed seed corpus
// (testdata/fuzz/FuzzNotificationRequests) holds a valid and some invalid
// requests of each method; f.Add seeds the valid ones too.
//
//	go test -run '^$' -fuzz FuzzNotificationRequests -fuzztime 1m ./internal/notification/grpcserver
func FuzzNotificationRequests(f *testing.F) {
	h := start(f, notification.Config{Heartbeat: 50 * time.Millisecond})
	h.placed(f, "alice", 0)
	h.placed(f, "root", 0)
	ms := serviceMethods()
	seeds := map[string]proto.Message{
		"ListNotifications":      &notificationv1.ListNotificationsRequest{PageSize: 1, UnreadOnly: true},
		"MarkRead":               &notificationv1.MarkReadRequest{Ids: []int64{1, 2}, UpToId: 1},
		"SetProductAlert":        &notificationv1.SetProductAlertRequest{ProductId: "p-1", BackInStock: true},
		"ListProductAlerts":      &notificationv1.ListProductAlertsRequest{},
		"ListEmails":             &notificationv1.ListEmailsRequest{PageSize: 5, All: true},
		"SubscribeNotifications": &notificationv1.SubscribeNotificationsRequest{AfterId: 0},
	}
	for i := range ms.Len() {
		seed, ok := seeds[string(ms.Get(i).Name())]
		if !ok {
			f.Fatalf("no seed for %s: add one", ms.Get(i).Name())
		}
		b, err := proto.Marshal(seed)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), b) //nolint:gosec // a handful of methods
	}
	cc := h.conn(f)
	f.Fuzz(func(t *testing.T, which uint8, raw []byte) {
		m := ms.Get(int(which) % ms.Len())
		mt, err := protoregistry.GlobalTypes.FindMessageByName(m.Input().FullName())
		if err != nil {
			t.Fatal(err)
		}
		req := mt.New().Interface()
		if proto.Unmarshal(raw, req) != nil {
			return // not a request: the transport would refuse it before us
		}
		rt, err := protoregistry.GlobalTypes.FindMessageByName(m.Output().FullName())
		if err != nil {
			t.Fatal(err)
		}
		full := "/" + string(m.Parent().FullName()) + "/" + string(m.Name())
		for _, caller := range [][]string{as("alice"), as("root", "admin")} {
			ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), caller...), 10*time.Second)
			if m.IsStreamingServer() {
				err = callStream(ctx, cc, full, req, rt.New().Interface())
			} else {
				err = cc.Invoke(ctx, full, req, rt.New().Interface())
			}
			cancel()
			d := errs.FromError(err)
			if !fuzzAllowed[d.Code] || (err != nil && d.Reason == "") {
				t.Errorf("%s(%v) = %v (reason %q): want OK or a client error with a reason", m.Name(), req, err, d.Reason)
			}
		}
	})
}
