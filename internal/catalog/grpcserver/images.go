package grpcserver

import (
	"context"

	"google.golang.org/grpc"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	"github.com/bazaarhq/bazaar/internal/catalog"
	"github.com/bazaarhq/bazaar/internal/catalog/images"
)

// ImageProducts returns svc as what the image streams need from the
// catalog: recording an image on a product and finding it again.
func ImageProducts(svc *catalog.Service) images.Products { return imageProducts{svc} }

type imageProducts struct{ svc *catalog.Service }

func (p imageProducts) AddImage(ctx context.Context, productID string, img images.Image) error {
	_, err := p.svc.AddImage(ctx, productID, catalog.ImageRef{
		ID: img.ID, ContentType: img.ContentType, SizeBytes: img.SizeBytes, SHA256: img.SHA256,
	})
	return err
}

func (p imageProducts) Image(ctx context.Context, productID, imageID string) (images.Image, error) {
	r, err := p.svc.Image(ctx, productID, imageID)
	if err != nil {
		return images.Image{}, err
	}
	return images.Image{ID: r.ID, ContentType: r.ContentType, SizeBytes: r.SizeBytes, SHA256: r.SHA256}, nil
}

func (p imageProducts) ImageIDs(ctx context.Context) (map[string]struct{}, error) {
	return p.svc.ImageIDs(ctx)
}

// UploadProductImage implements catalogv1.CatalogServiceServer.
func (s *Server) UploadProductImage(stream grpc.ClientStreamingServer[catalogv1.UploadProductImageRequest, catalogv1.UploadProductImageResponse]) error {
	if s.images == nil {
		return s.UnimplementedCatalogServiceServer.UploadProductImage(stream)
	}
	return s.images.Upload(stream)
}

// DownloadProductImage implements catalogv1.CatalogServiceServer.
func (s *Server) DownloadProductImage(req *catalogv1.DownloadProductImageRequest, stream grpc.ServerStreamingServer[catalogv1.DownloadProductImageResponse]) error {
	if s.images == nil {
		return s.UnimplementedCatalogServiceServer.DownloadProductImage(req, stream)
	}
	return s.images.Download(req, stream)
}
