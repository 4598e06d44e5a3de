package scenarios

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"time"

	"google.golang.org/grpc"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	"github.com/bazaarhq/bazaar/internal/catalog/images"
)

// uploadSink is upload's baseline, as echo is everyone's: the same
// images.Upload of the same PNG, to a bare grpc-go server started in this
// process whose UploadProductImage reads every message and discards it.
// upload's rate over upload-sink's is what the images path (the server
// chain, validation, sniffing, hashing, the synced blob, the catalog
// record) keeps of the transport's client-streaming throughput.
type uploadSink struct {
	srv     *grpc.Server
	served  chan error
	ccs     []*grpc.ClientConn // Env.Conns of them
	clients []catalogv1.CatalogServiceClient
	png     []byte
}

type discardSink struct {
	catalogv1.UnimplementedCatalogServiceServer
}

func (discardSink) UploadProductImage(stream grpc.ClientStreamingServer[catalogv1.UploadProductImageRequest, catalogv1.UploadProductImageResponse]) error {
	for {
		if _, err := stream.Recv(); errors.Is(err, io.EOF) {
			return stream.SendAndClose(&catalogv1.UploadProductImageResponse{})
		} else if err != nil {
			return err
		}
	}
}

func newUploadSink(env Env) (*uploadSink, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &uploadSink{srv: grpc.NewServer(), served: make(chan error, 1), png: noisePNG(imageSide(env.ImageSize), 7)}
	catalogv1.RegisterCatalogServiceServer(u.srv, discardSink{})
	go func() { u.served <- u.srv.Serve(lis) }()
	if u.ccs, err = dialLocal(env, lis.Addr().String()); err != nil {
		_ = u.Close()
		return nil, err
	}
	for _, cc := range u.ccs {
		u.clients = append(u.clients, catalogv1.NewCatalogServiceClient(cc))
	}
	return u, nil
}

func (*uploadSink) Name() string { return "upload-sink" }

func (u *uploadSink) Do(ctx context.Context, w int) (time.Duration, error) {
	_, err := images.Upload(ctx, u.clients[w%len(u.clients)], "sink", bytes.NewReader(u.png), int64(len(u.png)))
	return 0, err
}

func (u *uploadSink) Close() error {
	err := closeAll(u.ccs)
	u.srv.Stop()
	if serr := <-u.served; serr != nil && !errors.Is(serr, grpc.ErrServerStopped) {
		err = errors.Join(err, serr)
	}
	return err
}
