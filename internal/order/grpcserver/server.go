// Package grpcserver is the gRPC transport of the order service: it
// implements bazaar.order.v1.OrderService by translating between the protos
// and internal/order, and holds no business rule.
//
// It relies on the server chain of internal/platform/grpcx: the method
// policies of the contract (authenticated, for every method) are enforced
// before a handler runs, requests are validated with their protovalidate
// rules, and domain errors are mapped to statuses with their details. A
// handler therefore returns domain errors as they are.
package grpcserver

import (
	"context"
	"time"

	"google.golang.org/grpc"

	orderv1 "github.com/bazaarhq/bazaar/gen/bazaar/order/v1"
	"github.com/bazaarhq/bazaar/internal/order"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
)

// DefaultWatchPoll is how often WatchOrder re-reads an order for changes
// made by other processes (changes made by this process wake it at once).
const DefaultWatchPoll = 500 * time.Millisecond

// Server implements orderv1.OrderServiceServer.
type Server struct {
	orderv1.UnimplementedOrderServiceServer
	svc  *order.Service
	poll time.Duration
}

var _ orderv1.OrderServiceServer = (*Server)(nil)

// Option configures New.
type Option func(*Server)

// WithWatchPoll sets how often WatchOrder re-reads an order for changes
// made by other processes. Default DefaultWatchPoll (500 ms).
func WithWatchPoll(d time.Duration) Option {
	return func(s *Server) {
		if d > 0 {
			s.poll = d
		}
	}
}

// New returns the transport for svc.
func New(svc *order.Service, opts ...Option) *Server {
	s := &Server{svc: svc, poll: DefaultWatchPoll}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Register registers the order API for svc on r (a *grpcx.Server).
func Register(r grpc.ServiceRegistrar, svc *order.Service, opts ...Option) {
	orderv1.RegisterOrderServiceServer(r, New(svc, opts...))
}

// GetCart implements orderv1.OrderServiceServer.
func (s *Server) GetCart(ctx context.Context, _ *orderv1.GetCartRequest) (*orderv1.GetCartResponse, error) {
	c, err := s.svc.GetCart(ctx, auth.PrincipalFrom(ctx))
	if err != nil {
		return nil, err
	}
	return &orderv1.GetCartResponse{Cart: cartProto(c)}, nil
}

// AddCartItem implements orderv1.OrderServiceServer.
func (s *Server) AddCartItem(ctx context.Context, req *orderv1.AddCartItemRequest) (*orderv1.AddCartItemResponse, error) {
	c, err := s.svc.AddCartItem(ctx, auth.PrincipalFrom(ctx), req.GetProductId(), req.GetQuantity())
	if err != nil {
		return nil, err
	}
	return &orderv1.AddCartItemResponse{Cart: cartProto(c)}, nil
}

// UpdateCartItem implements orderv1.OrderServiceServer.
func (s *Server) UpdateCartItem(ctx context.Context, req *orderv1.UpdateCartItemRequest) (*orderv1.UpdateCartItemResponse, error) {
	c, err := s.svc.UpdateCartItem(ctx, auth.PrincipalFrom(ctx), req.GetProductId(), req.GetQuantity())
	if err != nil {
		return nil, err
	}
	return &orderv1.UpdateCartItemResponse{Cart: cartProto(c)}, nil
}

// RemoveCartItem implements orderv1.OrderServiceServer.
func (s *Server) RemoveCartItem(ctx context.Context, req *orderv1.RemoveCartItemRequest) (*orderv1.RemoveCartItemResponse, error) {
	c, err := s.svc.RemoveCartItem(ctx, auth.PrincipalFrom(ctx), req.GetProductId())
	if err != nil {
		return nil, err
	}
	return &orderv1.RemoveCartItemResponse{Cart: cartProto(c)}, nil
}

// ClearCart implements orderv1.OrderServiceServer.
func (s *Server) ClearCart(ctx context.Context, _ *orderv1.ClearCartRequest) (*orderv1.ClearCartResponse, error) {
	c, err := s.svc.ClearCart(ctx, auth.PrincipalFrom(ctx))
	if err != nil {
		return nil, err
	}
	return &orderv1.ClearCartResponse{Cart: cartProto(c)}, nil
}

// PlaceOrder implements orderv1.OrderServiceServer.
func (s *Server) PlaceOrder(ctx context.Context, req *orderv1.PlaceOrderRequest) (*orderv1.PlaceOrderResponse, error) {
	o, err := s.svc.PlaceOrder(ctx, auth.PrincipalFrom(ctx), placeRequestOf(req))
	if err != nil {
		return nil, err
	}
	return &orderv1.PlaceOrderResponse{Order: orderProto(o)}, nil
}

// GetOrder implements orderv1.OrderServiceServer.
func (s *Server) GetOrder(ctx context.Context, req *orderv1.GetOrderRequest) (*orderv1.GetOrderResponse, error) {
	o, err := s.svc.GetOrder(ctx, auth.PrincipalFrom(ctx), req.GetId())
	if err != nil {
		return nil, err
	}
	return &orderv1.GetOrderResponse{Order: orderProto(o)}, nil
}

// ListOrders implements orderv1.OrderServiceServer.
func (s *Server) ListOrders(ctx context.Context, req *orderv1.ListOrdersRequest) (*orderv1.ListOrdersResponse, error) {
	os, next, err := s.svc.ListOrders(ctx, auth.PrincipalFrom(ctx), order.ListRequest{
		PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken(), Status: order.Status(req.GetStatus()),
		All: req.GetAll(),
	})
	if err != nil {
		return nil, err
	}
	out := &orderv1.ListOrdersResponse{NextPageToken: next, Orders: make([]*orderv1.Order, 0, len(os))}
	for _, o := range os {
		out.Orders = append(out.Orders, orderProto(o))
	}
	return out, nil
}

// CancelOrder implements orderv1.OrderServiceServer.
func (s *Server) CancelOrder(ctx context.Context, req *orderv1.CancelOrderRequest) (*orderv1.CancelOrderResponse, error) {
	o, err := s.svc.CancelOrder(ctx, auth.PrincipalFrom(ctx), req.GetId(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &orderv1.CancelOrderResponse{Order: orderProto(o)}, nil
}
