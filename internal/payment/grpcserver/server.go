// Package grpcserver is the gRPC transport of the payment service: it
// implements bazaar.payment.v1.PaymentService by translating between the
// protos and internal/payment, and holds no business rule.
//
// It relies on the server chain of internal/platform/grpcx: the method
// policies of the contract are enforced before a handler runs, requests are
// validated with their protovalidate rules, and domain errors are mapped to
// statuses with their details. A handler therefore returns domain errors as
// they are.
package grpcserver

import (
	"context"

	"google.golang.org/grpc"

	paymentv1 "github.com/bazaarhq/bazaar/gen/bazaar/payment/v1"
	"github.com/bazaarhq/bazaar/internal/payment"
)

// Server implements paymentv1.PaymentServiceServer.
type Server struct {
	paymentv1.UnimplementedPaymentServiceServer
	svc *payment.Service
}

var _ paymentv1.PaymentServiceServer = (*Server)(nil)

// New returns the transport for svc.
func New(svc *payment.Service) *Server { return &Server{svc: svc} }

// Register registers the payment API for svc on r (a *grpcx.Server).
func Register(r grpc.ServiceRegistrar, svc *payment.Service) {
	paymentv1.RegisterPaymentServiceServer(r, New(svc))
}

// Authorize implements paymentv1.PaymentServiceServer.
func (s *Server) Authorize(ctx context.Context, req *paymentv1.AuthorizeRequest) (*paymentv1.AuthorizeResponse, error) {
	amount, err := moneyOf("amount", req.GetAmount())
	if err != nil {
		return nil, err
	}
	p, err := s.svc.Authorize(ctx, payment.AuthorizeRequest{
		IdempotencyKey: req.GetIdempotencyKey(), OrderID: req.GetOrderId(), CustomerID: req.GetCustomerId(),
		Amount: amount, Card: payment.CardNumber(req.GetCardNumber()),
	})
	if err != nil {
		return nil, err
	}
	return &paymentv1.AuthorizeResponse{Payment: paymentProto(p)}, nil
}

// Capture implements paymentv1.PaymentServiceServer.
func (s *Server) Capture(ctx context.Context, req *paymentv1.CaptureRequest) (*paymentv1.CaptureResponse, error) {
	amount, err := optionalMoney("amount", req.GetAmount())
	if err != nil {
		return nil, err
	}
	p, err := s.svc.Capture(ctx, req.GetIdempotencyKey(), req.GetPaymentId(), amount)
	if err != nil {
		return nil, err
	}
	return &paymentv1.CaptureResponse{Payment: paymentProto(p)}, nil
}

// Void implements paymentv1.PaymentServiceServer.
func (s *Server) Void(ctx context.Context, req *paymentv1.VoidRequest) (*paymentv1.VoidResponse, error) {
	p, err := s.svc.Void(ctx, req.GetIdempotencyKey(), req.GetPaymentId())
	if err != nil {
		return nil, err
	}
	return &paymentv1.VoidResponse{Payment: paymentProto(p)}, nil
}

// Refund implements paymentv1.PaymentServiceServer.
func (s *Server) Refund(ctx context.Context, req *paymentv1.RefundRequest) (*paymentv1.RefundResponse, error) {
	amount, err := optionalMoney("amount", req.GetAmount())
	if err != nil {
		return nil, err
	}
	p, err := s.svc.Refund(ctx, req.GetIdempotencyKey(), req.GetPaymentId(), amount)
	if err != nil {
		return nil, err
	}
	return &paymentv1.RefundResponse{Payment: paymentProto(p)}, nil
}

// GetPayment implements paymentv1.PaymentServiceServer.
func (s *Server) GetPayment(ctx context.Context, req *paymentv1.GetPaymentRequest) (*paymentv1.GetPaymentResponse, error) {
	p, err := s.svc.GetPayment(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	return &paymentv1.GetPaymentResponse{Payment: paymentProto(p)}, nil
}

// ListPayments implements paymentv1.PaymentServiceServer.
func (s *Server) ListPayments(ctx context.Context, req *paymentv1.ListPaymentsRequest) (*paymentv1.ListPaymentsResponse, error) {
	ps, next, err := s.svc.ListPayments(ctx, payment.ListRequest{
		PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken(), OrderID: req.GetOrderId(),
		Status: payment.Status(req.GetStatus()),
	})
	if err != nil {
		return nil, err
	}
	out := &paymentv1.ListPaymentsResponse{Payments: make([]*paymentv1.Payment, len(ps)), NextPageToken: next}
	for i, p := range ps {
		out.Payments[i] = paymentProto(p)
	}
	return out, nil
}
