// Package chat is the support chat of the notification service: customers
// open conversations about their orders, support agents join them from a
// queue, and every live participant of a conversation receives its
// messages, typing indicators, read receipts and presence changes.
//
// Messages are persisted (Store) with a per-conversation sequence assigned
// at commit; a Session replays the history after a sequence and then the
// live events, so a participant who reconnects resumes where it stopped.
// Sends are idempotent by the sender's client message id.
//
// The live routing (the hub) is in memory, per process: one room per
// conversation with a participant, whose lock is held from a message's
// commit to its fan-out, so every participant sees the conversation in
// sequence order. Participants of one conversation connected to different
// processes do not see each other's live events (they do see them on
// rejoin); fanning out through the outbox is the scale-out step.
//
// Flow control: each Session has a bounded outbound queue. Typing
// indicators are dropped for a participant whose queue is half full, and a
// participant whose queue is full is removed (ErrQueueFull): its transport
// ends the stream and the client rejoins after the last sequence it got.
// Nothing is lost, since messages are persisted; server memory per
// participant stays bounded whatever the client does.
//
// Authorization: the caller must be a user. A customer sees only their
// own conversations (another's is NOT_FOUND, so ids leak nothing); users
// with an agent role (Config.AgentRoles, default "support" and "admin")
// see all. The order a conversation is about is stored as given: checking
// that the customer owns it needs the order service and is a later step.
package chat
