// Package grpcserver is the gRPC transport of the notification service: it
// implements bazaar.notification.v1.NotificationService by translating
// between the protos and internal/notification, and holds no business rule.
//
// It relies on the server chain of internal/platform/grpcx: the method
// policies of the contract are enforced before a handler runs, requests are
// validated with their protovalidate rules, domain errors are mapped to
// statuses with their details, and server-streaming calls are ended with
// UNAVAILABLE SERVER_DRAINING when the server drains.
package grpcserver

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	notificationv1 "github.com/bazaarhq/bazaar/gen/bazaar/notification/v1"
	"github.com/bazaarhq/bazaar/internal/notification"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
)

// Server implements notificationv1.NotificationServiceServer.
type Server struct {
	notificationv1.UnimplementedNotificationServiceServer
	svc *notification.Service
}

var _ notificationv1.NotificationServiceServer = (*Server)(nil)

// New returns the transport for svc.
func New(svc *notification.Service) *Server { return &Server{svc: svc} }

// Register registers the notification API for svc on r (a *grpcx.Server).
func Register(r grpc.ServiceRegistrar, svc *notification.Service) {
	notificationv1.RegisterNotificationServiceServer(r, New(svc))
}

// ListNotifications implements notificationv1.NotificationServiceServer.
func (s *Server) ListNotifications(ctx context.Context, req *notificationv1.ListNotificationsRequest) (*notificationv1.ListNotificationsResponse, error) {
	ns, next, err := s.svc.ListNotifications(ctx, auth.PrincipalFrom(ctx), notification.ListNotificationsRequest{
		PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken(), UnreadOnly: req.GetUnreadOnly(),
	})
	if err != nil {
		return nil, err
	}
	out := &notificationv1.ListNotificationsResponse{NextPageToken: next, Notifications: make([]*notificationv1.Notification, len(ns))}
	for i := range ns {
		out.Notifications[i] = notificationProto(&ns[i])
	}
	return out, nil
}

// MarkRead implements notificationv1.NotificationServiceServer.
func (s *Server) MarkRead(ctx context.Context, req *notificationv1.MarkReadRequest) (*notificationv1.MarkReadResponse, error) {
	n, err := s.svc.MarkRead(ctx, auth.PrincipalFrom(ctx), req.GetIds(), req.GetUpToId())
	if err != nil {
		return nil, err
	}
	return &notificationv1.MarkReadResponse{Marked: int32(n)}, nil //nolint:gosec // at most 500 ids or a user's notifications
}

// SetProductAlert implements notificationv1.NotificationServiceServer.
func (s *Server) SetProductAlert(ctx context.Context, req *notificationv1.SetProductAlertRequest) (*notificationv1.SetProductAlertResponse, error) {
	a, err := s.svc.SetProductAlert(ctx, auth.PrincipalFrom(ctx), req.GetProductId(), req.GetBackInStock(), req.GetPriceDrop())
	if err != nil {
		return nil, err
	}
	out := &notificationv1.SetProductAlertResponse{}
	if a != nil {
		out.Alert = alertProto(a)
	}
	return out, nil
}

// ListProductAlerts implements notificationv1.NotificationServiceServer.
func (s *Server) ListProductAlerts(ctx context.Context, _ *notificationv1.ListProductAlertsRequest) (*notificationv1.ListProductAlertsResponse, error) {
	as, err := s.svc.ListProductAlerts(ctx, auth.PrincipalFrom(ctx))
	if err != nil {
		return nil, err
	}
	out := &notificationv1.ListProductAlertsResponse{Alerts: make([]*notificationv1.ProductAlert, len(as))}
	for i := range as {
		out.Alerts[i] = alertProto(&as[i])
	}
	return out, nil
}

// ListEmails implements notificationv1.NotificationServiceServer.
func (s *Server) ListEmails(ctx context.Context, req *notificationv1.ListEmailsRequest) (*notificationv1.ListEmailsResponse, error) {
	ms, next, err := s.svc.ListEmails(ctx, auth.PrincipalFrom(ctx), notification.ListEmailsRequest{
		PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken(), All: req.GetAll(),
	})
	if err != nil {
		return nil, err
	}
	out := &notificationv1.ListEmailsResponse{NextPageToken: next, Emails: make([]*notificationv1.Email, len(ms))}
	for i, m := range ms {
		out.Emails[i] = &notificationv1.Email{
			Id: m.ID, UserId: m.UserID, To: m.To, Subject: m.Subject, Body: m.Body, CreateTime: timestamppb.New(m.CreateTime),
		}
	}
	return out, nil
}

func notificationProto(n *notification.Notification) *notificationv1.Notification {
	out := &notificationv1.Notification{
		Id: n.ID, Kind: notificationv1.NotificationKind(n.Kind), Title: n.Title, Body: n.Body, //nolint:gosec // the kinds are the enum's values
		OrderId: n.OrderID, ProductId: n.ProductID, CreateTime: timestamppb.New(n.CreateTime),
	}
	if !n.ReadTime.IsZero() {
		out.ReadTime = timestamppb.New(n.ReadTime)
	}
	return out
}

func alertProto(a *notification.ProductAlert) *notificationv1.ProductAlert {
	return &notificationv1.ProductAlert{
		ProductId: a.ProductID, BackInStock: a.BackInStock, PriceDrop: a.PriceDrop, UpdateTime: timestamppb.New(a.UpdateTime),
	}
}
