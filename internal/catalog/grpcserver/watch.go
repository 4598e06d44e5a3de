package grpcserver

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	"github.com/bazaarhq/bazaar/internal/catalog"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/events"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// ReasonCursorInvalid (INVALID_ARGUMENT, field after_cursor): a
// WatchCatalog cursor that this server did not issue.
const ReasonCursorInvalid = "CURSOR_INVALID"

// ReasonFeedUnavailable (UNAVAILABLE): WatchCatalog could not read the
// outbox; the client retries with its last cursor.
const ReasonFeedUnavailable = "FEED_UNAVAILABLE"

// WithFeed serves WatchCatalog from feed, a Feed over the catalog's own
// outbox (events.NewFeed(store.DB())), which the caller runs. Without it
// WatchCatalog answers UNIMPLEMENTED.
func WithFeed(feed *events.Feed) Option { return func(s *Server) { s.feed = feed } }

// WatchCatalog implements catalogv1.CatalogServiceServer. A cursor is the
// decimal outbox id of a change; an empty after_cursor starts from now. The
// stream sends every matching change after the cursor in order, once, and
// ends when the client goes away or the server drains (the server chain
// then answers UNAVAILABLE SERVER_DRAINING; the client resumes with its last
// cursor). The response headers are sent once the subscription is in
// place, so a client that waits for them (Header) misses no later change.
// Catalog events whose payload cannot be decoded, or of topics it
// does not know, are skipped: they are not catalog changes this version
// understands.
func (s *Server) WatchCatalog(req *catalogv1.WatchCatalogRequest, stream grpc.ServerStreamingServer[catalogv1.WatchCatalogResponse]) error {
	if s.feed == nil {
		return s.UnimplementedCatalogServiceServer.WatchCatalog(req, stream)
	}
	after := events.FromNow
	if c := req.GetAfterCursor(); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n < 0 {
			return errs.BadRequest(ReasonCursorInvalid, errs.FieldViolation{
				Field: "after_cursor", Description: "must be a cursor from a previous WatchCatalogResponse",
			})
		}
		after = n
	}
	match := changeFilter(req.GetSkus(), req.GetCategory())
	ctx := stream.Context()
	caller := auth.PrincipalFrom(ctx)
	sub, err := s.feed.Subscribe(ctx, after, func(e sqldb.Event) bool {
		c, ok := decodeChange(e)
		return ok && c.VisibleTo(caller) && match(c)
	})
	if err != nil {
		return feedError(ctx, err)
	}
	defer sub.Close()
	// The response headers tell the client that the subscription is in
	// place: every change committed after it received them reaches it.
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	for {
		e, err := sub.Next(ctx)
		if err != nil {
			return feedError(ctx, err)
		}
		// The filter accepted e, so it decodes; decoding again here keeps
		// the filter free of per-subscription state.
		c, _ := decodeChange(e)
		resp := &catalogv1.WatchCatalogResponse{Cursor: strconv.FormatInt(e.ID, 10), Change: changeProto(e.Topic, c)}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}

// feedError maps the feed's errors: when the stream's context has ended,
// its cause is returned as it is (the server chain knows about draining);
// a stopped feed is a server going away; a database error while catching
// up is transient. Each tells the client to resume with its last cursor.
func feedError(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return context.Cause(ctx)
	case errors.Is(err, events.ErrFeedStopped):
		return errs.New(errs.Unavailable, "SERVER_DRAINING", "the change feed stopped; reconnect with the last cursor")
	}
	return errs.Wrap(err, errs.Unavailable, ReasonFeedUnavailable, "the change feed cannot read its events; retry with the last cursor")
}

// decodeChange decodes a catalog event; ok is false for an event that is
// not a catalog change this version understands.
func decodeChange(e sqldb.Event) (catalog.Change, bool) {
	switch e.Topic {
	case catalog.TopicPriceChanged, catalog.TopicStockChanged, catalog.TopicStatusChanged:
	default:
		return catalog.Change{}, false
	}
	c, err := catalog.DecodeChange(e.Payload)
	if err != nil {
		return catalog.Change{}, false
	}
	switch e.Topic {
	case catalog.TopicPriceChanged:
		return c, c.Price != nil
	case catalog.TopicStockChanged:
		return c, c.Stock != nil
	}
	return c, c.Status != ""
}

// changeFilter keeps changes of one of skus (all when empty) in category
// or below it (all when empty).
func changeFilter(skus []string, category string) func(catalog.Change) bool {
	skus = slices.Clone(skus)
	return func(c catalog.Change) bool {
		if len(skus) > 0 && !slices.Contains(skus, c.SKU) {
			return false
		}
		return category == "" || c.Category == category || strings.HasPrefix(c.Category, category+"/")
	}
}

func changeProto(topic string, c catalog.Change) *catalogv1.CatalogChange {
	out := &catalogv1.CatalogChange{
		ProductId: c.ProductID, Sku: c.SKU, Category: c.Category, ChangeTime: timestamppb.New(c.ChangeTime),
	}
	switch topic {
	case catalog.TopicPriceChanged:
		out.Kind = &catalogv1.CatalogChange_Price{Price: moneyProto(*c.Price)}
	case catalog.TopicStockChanged:
		out.Kind = &catalogv1.CatalogChange_Stock{Stock: stockProto(*c.Stock)}
	case catalog.TopicStatusChanged:
		out.Kind = &catalogv1.CatalogChange_Status{Status: catalogv1.ProductStatus(catalog.ParseStatus(c.Status))}
	}
	return out
}
