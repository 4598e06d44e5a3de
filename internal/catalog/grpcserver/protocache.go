package grpcserver

import (
	lru "github.com/hashicorp/golang-lru/v2"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	"github.com/bazaarhq/bazaar/internal/catalog"
)

// protoCacheSize bounds the product messages kept: as many as the
// service's product cache holds by default.
const protoCacheSize = catalog.DefaultProductCacheSize

// productMessages keeps the API message of each product version recently
// sent, so that a listing of cached products does not build its twenty
// messages again on every call. A product's message depends on nothing but
// the product, and a version of a product never changes, so an entry is
// right for as long as its version is the product's; a message is shared by
// every response that carries it, and so is never changed once built
// (marshalling only reads it, concurrently).
type productMessages struct {
	lru *lru.Cache[string, versionedMessage]
}

type versionedMessage struct {
	version int64
	msg     *catalogv1.Product
}

func newProductMessages() *productMessages {
	c, err := lru.New[string, versionedMessage](protoCacheSize)
	if err != nil {
		panic(err) // the size is a positive constant
	}
	return &productMessages{lru: c}
}

// of returns p's message, built once per version.
func (m *productMessages) of(p *catalog.Product) *catalogv1.Product {
	if e, ok := m.lru.Get(p.ID); ok && e.version == p.Version {
		return e.msg
	}
	msg := productProto(p)
	m.lru.Add(p.ID, versionedMessage{version: p.Version, msg: msg})
	return msg
}

// list returns the messages of ps.
func (m *productMessages) list(ps []*catalog.Product) []*catalogv1.Product {
	out := make([]*catalogv1.Product, len(ps))
	for i, p := range ps {
		out[i] = m.of(p)
	}
	return out
}
