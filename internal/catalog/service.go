package catalog

import (
	"errors"
	"time"
)

// Service is the catalog use cases. It is safe for concurrent use. Create
// it with New.
//
// Authorisation of a call is the method policy's job (declared in the API
// contract and enforced before the transport calls the Service).
type Service struct {
	store Store
	cache *cachingStore // nil when the product cache is off
	cfg   Config
}

// New returns a Service over store. Zero fields of cfg take their defaults
// (see Config). It returns an error for an invalid configuration.
func New(store Store, cfg Config) (*Service, error) {
	if store == nil {
		return nil, errors.New("catalog: nil store")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Service{store: store, cfg: cfg}
	if cfg.ProductCacheSize > 0 {
		s.cache = newCachingStore(store, cfg.ProductCacheSize, cfg.ProductCacheTTL, cfg.ListingCacheTTL, cfg.Clock)
		s.store = s.cache
	}
	return s, nil
}

// CacheStats returns the product cache's hit and miss counts (zero when
// the cache is off).
func (s *Service) CacheStats() CacheStats {
	if s.cache == nil {
		return CacheStats{}
	}
	return s.cache.stats()
}

// now is the service clock in UTC at the microsecond precision both
// databases keep, so that times read back compare equal to times written.
func (s *Service) now() time.Time {
	return s.cfg.Clock().UTC().Truncate(time.Microsecond)
}
