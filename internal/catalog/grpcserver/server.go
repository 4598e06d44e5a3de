// Package grpcserver is the gRPC transport of the catalog service: it
// implements the unary methods of bazaar.catalog.v1.CatalogService by
// translating between the protos and internal/catalog, and holds no
// business rule.
//
// The streaming methods answer UNIMPLEMENTED (through the embedded
// UnimplementedCatalogServiceServer) unless their backing is configured:
// WithImages for UploadProductImage and DownloadProductImage, WithFeed for
// WatchCatalog.
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

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	"github.com/bazaarhq/bazaar/internal/catalog"
	"github.com/bazaarhq/bazaar/internal/catalog/images"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/events"
)

// Server implements catalogv1.CatalogServiceServer.
type Server struct {
	catalogv1.UnimplementedCatalogServiceServer
	svc    *catalog.Service
	images *images.Service
	feed   *events.Feed // WatchCatalog; see WithFeed
	msgs   *productMessages
}

var _ catalogv1.CatalogServiceServer = (*Server)(nil)

// Option configures New.
type Option func(*Server)

// WithImages serves UploadProductImage and DownloadProductImage with img
// (build it with images.NewService(ImageProducts(svc), blobs)). Without it
// they answer UNIMPLEMENTED.
func WithImages(img *images.Service) Option { return func(s *Server) { s.images = img } }

// New returns the transport for svc.
func New(svc *catalog.Service, opts ...Option) *Server {
	s := &Server{svc: svc, msgs: newProductMessages()}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Register registers the catalog API for svc on r (a *grpcx.Server).
func Register(r grpc.ServiceRegistrar, svc *catalog.Service, opts ...Option) {
	catalogv1.RegisterCatalogServiceServer(r, New(svc, opts...))
}

// GetProduct implements catalogv1.CatalogServiceServer.
func (s *Server) GetProduct(ctx context.Context, req *catalogv1.GetProductRequest) (*catalogv1.GetProductResponse, error) {
	p, err := s.svc.GetProduct(ctx, auth.PrincipalFrom(ctx), req.GetId())
	if err != nil {
		return nil, err
	}
	return &catalogv1.GetProductResponse{Product: s.msgs.of(p)}, nil
}

// BatchGetProducts implements catalogv1.CatalogServiceServer.
func (s *Server) BatchGetProducts(ctx context.Context, req *catalogv1.BatchGetProductsRequest) (*catalogv1.BatchGetProductsResponse, error) {
	found, missing, err := s.svc.BatchGetProducts(ctx, auth.PrincipalFrom(ctx), req.GetIds())
	if err != nil {
		return nil, err
	}
	return &catalogv1.BatchGetProductsResponse{Products: s.msgs.list(found), MissingIds: missing}, nil
}

// ListProducts implements catalogv1.CatalogServiceServer.
func (s *Server) ListProducts(ctx context.Context, req *catalogv1.ListProductsRequest) (*catalogv1.ListProductsResponse, error) {
	r := catalog.ListRequest{
		PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken(), Category: req.GetCategory(),
		Status: catalog.Status(req.GetStatus()), MinPrice: optionalMoney(req.GetMinPrice()),
		MaxPrice: optionalMoney(req.GetMaxPrice()), Order: orderOf(req.GetOrderBy()),
	}
	for _, a := range req.GetAttributes() {
		r.Attributes = append(r.Attributes, catalog.AttributeFilter{Key: a.GetKey(), Value: a.GetValue()})
	}
	ps, next, err := s.svc.ListProducts(ctx, auth.PrincipalFrom(ctx), r)
	if err != nil {
		return nil, err
	}
	return &catalogv1.ListProductsResponse{Products: s.msgs.list(ps), NextPageToken: next}, nil
}

// SearchProducts implements catalogv1.CatalogServiceServer.
func (s *Server) SearchProducts(ctx context.Context, req *catalogv1.SearchProductsRequest) (*catalogv1.SearchProductsResponse, error) {
	ps, next, err := s.svc.SearchProducts(ctx, req.GetQuery(), int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &catalogv1.SearchProductsResponse{Products: s.msgs.list(ps), NextPageToken: next}, nil
}

// CreateProduct implements catalogv1.CatalogServiceServer.
func (s *Server) CreateProduct(ctx context.Context, req *catalogv1.CreateProductRequest) (*catalogv1.CreateProductResponse, error) {
	p, err := s.svc.CreateProduct(ctx, productOf(req.GetProduct()), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return &catalogv1.CreateProductResponse{Product: productProto(p)}, nil
}

// UpdateProduct implements catalogv1.CatalogServiceServer. The mask's paths
// are the Product message's field names, which are the domain's path names
// (catalog.Path*).
func (s *Server) UpdateProduct(ctx context.Context, req *catalogv1.UpdateProductRequest) (*catalogv1.UpdateProductResponse, error) {
	p := req.GetProduct()
	out, err := s.svc.UpdateProduct(ctx, productOf(p), p.GetEtag(), req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	return &catalogv1.UpdateProductResponse{Product: productProto(out)}, nil
}

// ArchiveProduct implements catalogv1.CatalogServiceServer.
func (s *Server) ArchiveProduct(ctx context.Context, req *catalogv1.ArchiveProductRequest) (*catalogv1.ArchiveProductResponse, error) {
	p, err := s.svc.ArchiveProduct(ctx, req.GetId(), req.GetEtag())
	if err != nil {
		return nil, err
	}
	return &catalogv1.ArchiveProductResponse{Product: productProto(p)}, nil
}

// GetStock implements catalogv1.CatalogServiceServer.
func (s *Server) GetStock(ctx context.Context, req *catalogv1.GetStockRequest) (*catalogv1.GetStockResponse, error) {
	stocks, err := s.svc.GetStock(ctx, req.GetSkus())
	if err != nil {
		return nil, err
	}
	out := &catalogv1.GetStockResponse{Stocks: make([]*catalogv1.Stock, len(stocks))}
	for i, st := range stocks {
		out.Stocks[i] = stockProto(st)
	}
	return out, nil
}

// AdjustStock implements catalogv1.CatalogServiceServer.
func (s *Server) AdjustStock(ctx context.Context, req *catalogv1.AdjustStockRequest) (*catalogv1.AdjustStockResponse, error) {
	st, err := s.svc.AdjustStock(ctx, catalog.AdjustRequest{
		SKU: req.GetSku(), Delta: req.GetDelta(), Reason: req.GetReason(), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	return &catalogv1.AdjustStockResponse{Stock: stockProto(st)}, nil
}

// ReserveStock implements catalogv1.CatalogServiceServer.
func (s *Server) ReserveStock(ctx context.Context, req *catalogv1.ReserveStockRequest) (*catalogv1.ReserveStockResponse, error) {
	items := make([]catalog.ReservationItem, len(req.GetItems()))
	for i, it := range req.GetItems() {
		items[i] = catalog.ReservationItem{SKU: it.GetSku(), Quantity: it.GetQuantity()}
	}
	r, err := s.svc.ReserveStock(ctx, req.GetReservationId(), items)
	if err != nil {
		return nil, err
	}
	return &catalogv1.ReserveStockResponse{Reservation: reservationProto(r)}, nil
}

// CommitReservation implements catalogv1.CatalogServiceServer.
func (s *Server) CommitReservation(ctx context.Context, req *catalogv1.CommitReservationRequest) (*catalogv1.CommitReservationResponse, error) {
	r, err := s.svc.CommitReservation(ctx, req.GetReservationId())
	if err != nil {
		return nil, err
	}
	return &catalogv1.CommitReservationResponse{Reservation: reservationProto(r)}, nil
}

// ReleaseReservation implements catalogv1.CatalogServiceServer.
func (s *Server) ReleaseReservation(ctx context.Context, req *catalogv1.ReleaseReservationRequest) (*catalogv1.ReleaseReservationResponse, error) {
	r, err := s.svc.ReleaseReservation(ctx, req.GetReservationId())
	if err != nil {
		return nil, err
	}
	return &catalogv1.ReleaseReservationResponse{Reservation: reservationProto(r)}, nil
}

// ReturnReservation implements catalogv1.CatalogServiceServer.
func (s *Server) ReturnReservation(ctx context.Context, req *catalogv1.ReturnReservationRequest) (*catalogv1.ReturnReservationResponse, error) {
	r, err := s.svc.ReturnReservation(ctx, req.GetReservationId())
	if err != nil {
		return nil, err
	}
	return &catalogv1.ReturnReservationResponse{Reservation: reservationProto(r)}, nil
}
