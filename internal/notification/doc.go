// Package notification is the notification service's core: it turns the
// order, payment and catalog events into per-user notifications and rendered
// e-mails, keeps users' product alerts (watch for back in stock, wishlist for
// price drops), and streams each user's notifications live.
//
// # Exactly-once effects
//
// The event consumer (internal/platform/events) calls HandleEvent with its
// own transaction, so that the notifications, the inbox row of the event and
// the consumer's cursor commit together. HandleEvent also records the event
// id in its own handled-events table, so that applying the same event twice
// is harmless even without the consumer's inbox.
//
// # Live delivery after commit
//
// Subscribers must never be told about a notification that is not
// committed, so HandleEvent only remembers what it created (keyed by the
// event id) and the consumer calls Committed(eventID) after its commit: the
// service then publishes the notifications to the in-process Hub and writes
// the e-mail files. Apply does both for callers without a transaction. A
// notification whose announcement is lost (a consumer that never calls
// Committed, another process sharing the database) still reaches live
// subscribers: each subscription re-reads the store at every heartbeat, and
// a gap in the ids it receives makes it read the store at once.
//
// Notification ids are per-user sequences without gaps (the allocation
// locks the user's counter row until commit), so a subscriber's cursor is
// simply the last id it delivered: a resumed subscription reads the store
// after it, and nothing is skipped or repeated.
package notification
