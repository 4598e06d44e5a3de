package grpcserver

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	notificationv1 "github.com/bazaarhq/bazaar/gen/bazaar/notification/v1"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
)

// SubscribeNotifications implements notificationv1.NotificationServiceServer.
// The response headers are sent once the subscription is in place, so a
// client that waits for them (Header) misses no later notification. The
// stream ends when the client leaves, the server drains (UNAVAILABLE
// SERVER_DRAINING, by the server chain), the caller's credential expires,
// or the subscriber is too slow (RESOURCE_EXHAUSTED SUBSCRIBER_TOO_SLOW
// with the resume cursor in the ErrorInfo metadata).
func (s *Server) SubscribeNotifications(req *notificationv1.SubscribeNotificationsRequest, stream grpc.ServerStreamingServer[notificationv1.SubscribeNotificationsResponse]) error {
	ctx := stream.Context()
	sub, err := s.svc.Subscribe(ctx, auth.PrincipalFrom(ctx), req.GetAfterId())
	if err != nil {
		return err
	}
	defer sub.Close()
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	for {
		it, err := sub.Next(ctx)
		if err != nil {
			return err
		}
		resp := &notificationv1.SubscribeNotificationsResponse{}
		if it.Notification != nil {
			resp.Event = &notificationv1.SubscribeNotificationsResponse_Notification{Notification: notificationProto(it.Notification)}
		} else {
			resp.Event = &notificationv1.SubscribeNotificationsResponse_Heartbeat{Heartbeat: &notificationv1.NotificationHeartbeat{
				Time: timestamppb.Now(), LastId: it.LastID,
			}}
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}
