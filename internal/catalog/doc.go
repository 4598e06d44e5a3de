// Package catalog is the catalog service's application core: products and
// their prices, statuses and images, and the stock of each SKU with its
// reservations. It holds the domain types and the Service (the use cases)
// and declares the Store it needs; it imports no gRPC type.
//
// Draft products are invisible to customers: GetProduct, BatchGetProducts
// and ListProducts take the caller's *auth.Principal and show drafts only to
// administrators, catalog:write credentials and other services. Search
// finds active products only.
//
// Every price, stock and status change appends an event to the
// transactional outbox in the same transaction as the change (see Event and
// the Topic* constants); the WatchCatalog feed is built on them.
//
// Stock keeps one invariant at every read: for each SKU, the units ever
// added (AdjustStock) equal Available + Reserved + Sold, and Available is
// never negative. ReserveStock moves units from Available to Reserved, all
// or none; CommitReservation moves them to Sold; ReleaseReservation and
// expiry move them back to Available.
package catalog
