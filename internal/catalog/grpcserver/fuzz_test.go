package grpcserver_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// unaryMethods are the catalog's unary methods, in descriptor order.
func unaryMethods() []protoreflect.MethodDescriptor {
	var out []protoreflect.MethodDescriptor
	ms := catalogv1.File_bazaar_catalog_v1_catalog_proto.Services().ByName("CatalogService").Methods()
	for i := range ms.Len() {
		if m := ms.Get(i); !m.IsStreamingClient() && !m.IsStreamingServer() {
			out = append(out, m)
		}
	}
	return out
}

// fuzzAllowed are the codes a catalog call may answer a well-formed but
// arbitrary request with. INTERNAL, UNKNOWN, DATA_LOSS or UNAVAILABLE
// would be a bug: a bad input that reached the store or panicked.
var fuzzAllowed = map[codes.Code]bool{
	codes.OK: true, codes.InvalidArgument: true, codes.NotFound: true, codes.AlreadyExists: true,
	codes.FailedPrecondition: true, codes.Aborted: true, codes.OutOfRange: true, codes.ResourceExhausted: true,
}

// FuzzCatalogRequests decodes arbitrary bytes as the request of each unary
// catalog method and calls it, as an admin (who may call every method but
// the order service's) and as the order service, through the real server
// chain (validation included) over the SQLite store. Every answer must be
// OK or an expected client error carrying an ErrorInfo reason; nothing may
// panic. The seed corpus is a valid request of each method.
//
//	go test -run '^$' -fuzz FuzzCatalogRequests -fuzztime 1m ./internal/catalog/grpcserver
func FuzzCatalogRequests(f *testing.F) {
	h := start(f)
	methods := unaryMethods()
	ctx := metadata.AppendToOutgoingContext(context.Background(), admin...)
	created, err := h.client.CreateProduct(ctx, &catalogv1.CreateProductRequest{RequestId: uuid.NewString(), Product: &catalogv1.Product{
		Sku: "FUZZ-1", Title: "Fuzz", Category: "fuzz", Status: catalogv1.ProductStatus_PRODUCT_STATUS_ACTIVE,
		Price: &money.Money{CurrencyCode: "EUR", Units: 1},
	}})
	if err != nil {
		f.Fatal(err)
	}
	id := created.GetProduct().GetId()
	seeds := map[string]proto.Message{
		"GetProduct":         &catalogv1.GetProductRequest{Id: id},
		"BatchGetProducts":   &catalogv1.BatchGetProductsRequest{Ids: []string{id, "x"}},
		"ListProducts":       &catalogv1.ListProductsRequest{PageSize: 5, Category: "fuzz", MinPrice: &money.Money{CurrencyCode: "EUR"}},
		"SearchProducts":     &catalogv1.SearchProductsRequest{Query: "fuzz", PageSize: 5},
		"CreateProduct":      &catalogv1.CreateProductRequest{RequestId: "r", Product: created.GetProduct()},
		"UpdateProduct":      &catalogv1.UpdateProductRequest{Product: created.GetProduct(), UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}}},
		"ArchiveProduct":     &catalogv1.ArchiveProductRequest{Id: id, Etag: "1"},
		"GetStock":           &catalogv1.GetStockRequest{Skus: []string{"FUZZ-1"}},
		"AdjustStock":        &catalogv1.AdjustStockRequest{Sku: "FUZZ-1", Delta: 3, Reason: "fuzz", RequestId: "a"},
		"ReserveStock":       &catalogv1.ReserveStockRequest{ReservationId: "r", Items: []*catalogv1.ReservationItem{{Sku: "FUZZ-1", Quantity: 1}}},
		"CommitReservation":  &catalogv1.CommitReservationRequest{ReservationId: "r"},
		"ReleaseReservation": &catalogv1.ReleaseReservationRequest{ReservationId: "r"},
		"ReturnReservation":  &catalogv1.ReturnReservationRequest{ReservationId: "r"},
	}
	for i, m := range methods {
		seed, ok := seeds[string(m.Name())]
		if !ok {
			f.Fatalf("no seed for %s: add one", m.Name())
		}
		b, err := proto.Marshal(seed)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), b)
	}
	f.Fuzz(func(t *testing.T, which uint8, raw []byte) {
		m := methods[int(which)%len(methods)]
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
		for _, caller := range [][]string{admin, orderSvc} {
			ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), caller...), 10*time.Second)
			err := h.cc.Invoke(ctx, "/bazaar.catalog.v1.CatalogService/"+string(m.Name()), req, rt.New().Interface())
			cancel()
			d := errs.FromError(err)
			if d.Code == codes.PermissionDenied {
				continue // the other caller's method
			}
			if !fuzzAllowed[d.Code] || (err != nil && d.Reason == "") {
				t.Errorf("%s(%v) = %v (reason %q): want OK or a client error with a reason", m.Name(), req, err, d.Reason)
			}
		}
	})
}
