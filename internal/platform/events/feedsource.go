package events

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// FeedSource is a Source over a Feed in the same process, with no
// transport: for a consumer living beside its producer, and for tests. Its
// cursors are the outbox ids in decimal, like the gRPC transport's, and
// its payloads google.protobuf.BytesValue holding the outbox payload as it
// is (no payload mapping). It keeps no retention (it is not an Acker).
type FeedSource struct{ feed *Feed }

// NewFeedSource returns a Source reading feed, which the caller runs.
func NewFeedSource(feed *Feed) *FeedSource { return &FeedSource{feed: feed} }

// Subscribe implements Source.
func (s *FeedSource) Subscribe(ctx context.Context, after string, topics []string) (Stream, error) {
	through, err := PrunedThrough(ctx, s.feed.db)
	if err != nil {
		return nil, err
	}
	pos := through
	if after != "" {
		n, err := strconv.ParseInt(after, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: events: invalid cursor %q", ErrPermanent, after)
		}
		if n < through {
			return nil, &CursorPrunedError{Cursor: after, Oldest: strconv.FormatInt(through, 10)}
		}
		pos = n
	}
	var filter func(sqldb.Event) bool
	if topics = slices.Clone(topics); len(topics) > 0 {
		filter = func(e sqldb.Event) bool { return slices.Contains(topics, e.Topic) }
	}
	sub, err := s.feed.Subscribe(ctx, pos, filter)
	if err != nil {
		return nil, err
	}
	return &feedStream{ctx: ctx, sub: sub}, nil
}

type feedStream struct {
	ctx context.Context
	sub *Subscription
}

func (s *feedStream) Recv() (Event, error) {
	e, err := s.sub.Next(s.ctx)
	if err != nil {
		s.sub.Close()
		return Event{}, err
	}
	payload, err := anypb.New(wrapperspb.Bytes(e.Payload))
	if err != nil {
		return Event{}, err
	}
	return Event{
		Cursor: strconv.FormatInt(e.ID, 10), ID: e.EventID, Topic: e.Topic, AggregateID: e.AggregateID,
		Time: e.CreatedAt, Payload: payload,
	}, nil
}
