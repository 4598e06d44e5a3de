package catalog

import (
	"encoding/json"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
)

// Event is a fact the service publishes through its transactional outbox.
// The store appends it in the same transaction as the change it describes.
type Event struct {
	// Topic says what happened (one of the Topic* constants).
	Topic string
	// AggregateID is the product the event is about.
	AggregateID string
	// Payload is the JSON encoding of a Change.
	Payload []byte
}

// The event topics; every payload is a Change. The ".v1" suffix versions
// the payload.
const (
	// TopicPriceChanged: a product was created or its price changed
	// (Change.Price set).
	TopicPriceChanged = "catalog.price.changed.v1"
	// TopicStockChanged: a SKU's available, reserved or sold units changed
	// (Change.Stock set).
	TopicStockChanged = "catalog.stock.changed.v1"
	// TopicStatusChanged: a product was created or its status changed
	// (Change.Status set).
	TopicStatusChanged = "catalog.status.changed.v1"
)

// Change is the payload of every catalog event: what changed of which
// product. Exactly one of Price, Stock and Status is set. It is JSON, as
// every Bazaar event payload, so that the domain needs no protobuf; the
// WatchCatalog transport maps it to bazaar.catalog.v1.CatalogChange.
type Change struct {
	ProductID  string    `json:"product_id"`
	SKU        string    `json:"sku"`
	Category   string    `json:"category"`
	ChangeTime time.Time `json:"change_time"`
	Price      *Money    `json:"price,omitempty"`
	Stock      *Stock    `json:"stock,omitempty"`
	// Status is the Status's name ("active").
	Status string `json:"status,omitempty"`
	// Draft says the product was a draft when it changed: such changes
	// reach only callers who may see drafts.
	Draft bool `json:"draft,omitempty"`
}

// VisibleTo reports whether caller may see this change: changes of draft
// products are for catalog managers only, like the drafts themselves.
func (c Change) VisibleTo(caller *auth.Principal) bool { return !c.Draft || seesDrafts(caller) }

// DecodeChange decodes an event payload.
func DecodeChange(payload []byte) (Change, error) {
	var c Change
	err := json.Unmarshal(payload, &c)
	return c, err
}

// ParseStatus returns the Status named by String, or StatusUnspecified.
func ParseStatus(name string) Status {
	for s := StatusDraft; s <= StatusArchived; s++ {
		if s.String() == name {
			return s
		}
	}
	return StatusUnspecified
}

// newEvent encodes c. A Change holds only strings, integers and a time,
// which always encode, so an error is a bug.
func newEvent(topic string, c Change) Event {
	b, err := json.Marshal(c)
	if err != nil {
		panic("catalog: encoding " + topic + " event: " + err.Error())
	}
	return Event{Topic: topic, AggregateID: c.ProductID, Payload: b}
}

func productChange(p *Product, at time.Time) Change {
	return Change{ProductID: p.ID, SKU: p.SKU, Category: p.Category, ChangeTime: at, Draft: p.Status == StatusDraft}
}

func priceEvent(p *Product, at time.Time) Event {
	c := productChange(p, at)
	price := p.Price
	c.Price = &price
	return newEvent(TopicPriceChanged, c)
}

func statusEvent(p *Product, at time.Time) Event {
	c := productChange(p, at)
	c.Status = p.Status.String()
	return newEvent(TopicStatusChanged, c)
}

// stockEvent describes the stock s of the product (productID, category)
// after a change.
func stockEvent(s *Stock, at time.Time) Event {
	st := *s
	return newEvent(TopicStockChanged, Change{
		ProductID: s.ProductID, SKU: s.SKU, Category: s.Category, ChangeTime: at, Stock: &st,
		Draft: s.ProductStatus == StatusDraft,
	})
}
