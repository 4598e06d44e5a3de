package grpcx_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/google/go-cmp/cmp"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

var t0 = time.Date(2026, 12, 8, 1, 2, 3, 456_000_000, time.UTC)

// page is a ListProductsResponse with every kind of field a product has:
// strings, a map, repeated messages, a oneof, well-known types, a foreign
// message without vtprotobuf methods (google.type.Money) and an Any.
func page(n int) *catalogv1.ListProductsResponse {
	resp := &catalogv1.ListProductsResponse{NextPageToken: "next"}
	for i := range n {
		resp.Products = append(resp.Products, &catalogv1.Product{
			Id: "id", Sku: "SKU-1", Title: "Forged carbon steel santoku, no. 512", Description: "A balanced blade.",
			Category: "kitchen/knives", Price: &money.Money{CurrencyCode: "EUR", Units: int64(i), Nanos: 990_000_000},
			Attributes: map[string]string{"handle": "walnut", "edge": "plain"},
			Images:     []*catalogv1.ImageRef{{Id: "img", ContentType: "image/png", SizeBytes: 1234, Sha256: "ab"}},
			Kind: &catalogv1.Product_Physical{Physical: &catalogv1.PhysicalGoods{
				WeightGrams: 200, Dimensions: &catalogv1.Dimensions{LengthMm: 300, WidthMm: 50, HeightMm: 20},
			}},
			CreateTime:      timestamppb.New(t0),
			UpdateTime:      timestamppb.New(t0),
			Status:          catalogv1.ProductStatus_PRODUCT_STATUS_ACTIVE,
			PartnerMetadata: &anypb.Any{TypeUrl: "type.googleapis.com/x.Y", Value: []byte{1, 2, 3}},
			Etag:            "7",
		})
	}
	return resp
}

// TestCodecIsTheProtoWireFormat: what grpcx.Codec writes, protobuf-go
// reads, and the other way round, for messages with vtprotobuf methods
// (small and past the buffer-pooling threshold) and without them.
func TestCodecIsTheProtoWireFormat(t *testing.T) {
	t.Parallel()
	if got := grpcx.Codec.Name(); got != "proto" {
		t.Errorf("Codec.Name() = %q, want proto (peers must see the default codec)", got)
	}
	for _, tc := range []struct {
		name string
		msg  proto.Message
	}{
		{"vtproto small", page(1)},
		{"vtproto pooled", page(200)},
		{"protobuf-go", &errdetails.ErrorInfo{Reason: "R", Domain: "bazaar.dev", Metadata: map[string]string{"k": "v"}}},
		{"protobuf-go pooled", &errdetails.ErrorInfo{Reason: "R", Domain: "bazaar.dev", Metadata: map[string]string{"k": strings.Repeat("v", 4096)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data, err := grpcx.Codec.Marshal(tc.msg)
			if err != nil {
				t.Fatalf("Codec.Marshal() = %v", err)
			}
			wire := data.Materialize()
			data.Free()
			if len(wire) != proto.Size(tc.msg) {
				t.Errorf("Codec.Marshal() wrote %d bytes, proto.Size() = %d", len(wire), proto.Size(tc.msg))
			}
			back := tc.msg.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(wire, back); err != nil {
				t.Fatalf("proto.Unmarshal(Codec's bytes) = %v", err)
			}
			if diff := cmp.Diff(tc.msg, back, protocmp.Transform()); diff != "" {
				t.Errorf("proto.Unmarshal(Codec's bytes) differs (-want +got):\n%s", diff)
			}

			wire, err = proto.Marshal(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			back = tc.msg.ProtoReflect().New().Interface()
			if err := grpcx.Codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}, back); err != nil {
				t.Fatalf("Codec.Unmarshal(proto's bytes) = %v", err)
			}
			if diff := cmp.Diff(tc.msg, back, protocmp.Transform()); diff != "" {
				t.Errorf("Codec.Unmarshal(proto's bytes) differs (-want +got):\n%s", diff)
			}

			// As the transport hands it over: in several frames.
			third := len(wire) / 3
			frames := mem.BufferSlice{mem.SliceBuffer(wire[:third]), mem.SliceBuffer(wire[third : 2*third]), mem.SliceBuffer(wire[2*third:])}
			for range 2 { // the second time with a recycled buffer
				back = tc.msg.ProtoReflect().New().Interface()
				if err := grpcx.Codec.Unmarshal(frames, back); err != nil {
					t.Fatalf("Codec.Unmarshal(3 frames) = %v", err)
				}
				if diff := cmp.Diff(tc.msg, back, protocmp.Transform()); diff != "" {
					t.Errorf("Codec.Unmarshal(3 frames) differs (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestCodecRejectsNonMessages: a value that is no protobuf message is an
// error, not a panic.
func TestCodecRejectsNonMessages(t *testing.T) {
	t.Parallel()
	if _, err := grpcx.Codec.Marshal("not a message"); err == nil {
		t.Error("Codec.Marshal(string) = nil error, want one")
	}
	var s string
	if err := grpcx.Codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(nil)}, &s); err == nil {
		t.Error("Codec.Unmarshal(*string) = nil error, want one")
	}
}

// BenchmarkCodec compares grpcx.Codec with protobuf-go on a page of 20
// products, both ways.
//
//	go test -run '^$' -bench Codec ./internal/platform/grpcx
func BenchmarkCodec(b *testing.B) {
	m := page(20)
	wire, err := proto.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("marshal/protobuf-go", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := proto.Marshal(m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("marshal/grpcx", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			data, err := grpcx.Codec.Marshal(m)
			if err != nil {
				b.Fatal(err)
			}
			data.Free()
		}
	})
	b.Run("unmarshal/protobuf-go", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := proto.Unmarshal(wire, &catalogv1.ListProductsResponse{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unmarshal/grpcx", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := grpcx.Codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}, &catalogv1.ListProductsResponse{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
