package chat

import (
	"context"
	"errors"
	"fmt"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/pagetoken"
)

// The ErrorInfo reasons of the errors the Service returns. They are part of
// the API: clients switch on them.
const (
	// ReasonConversationNotFound (NOT_FOUND): no such conversation, or one
	// the caller may not see.
	ReasonConversationNotFound = "CONVERSATION_NOT_FOUND"
	// ReasonUsersOnly (PERMISSION_DENIED): chat is for signed-in users, not
	// API keys, clients or services.
	ReasonUsersOnly = "CHAT_USERS_ONLY"
	// ReasonProtocol (FAILED_PRECONDITION): a ClientMessage out of turn
	// (open or join twice, send before either).
	ReasonProtocol = "CHAT_PROTOCOL"
	// ReasonQueueFull (RESOURCE_EXHAUSTED): the participant stopped reading
	// and its queue filled; ErrorInfo metadata MetadataLastSequence says
	// where to resume.
	ReasonQueueFull = "CHAT_QUEUE_FULL"
	// ReasonPageTokenInvalid (INVALID_ARGUMENT, field "page_token").
	ReasonPageTokenInvalid = pagetoken.Reason
	// ReasonPageSizeInvalid (INVALID_ARGUMENT, field "page_size").
	ReasonPageSizeInvalid = "PAGE_SIZE_INVALID"
)

// MetadataLastSequence is the ErrorInfo metadata key of the last message
// sequence delivered before a stream ended.
const MetadataLastSequence = "last_sequence"

// ErrNotFound is what a Store returns for a conversation it does not have.
var ErrNotFound = errors.New("chat: not found")

// ErrQueueFull ends a Session whose participant stopped reading.
var ErrQueueFull = errors.New("chat: participant queue full")

// ErrClosed ends a Session that was closed (Leave, or after Reconnect).
var ErrClosed = errors.New("chat: session closed")

func errConversationNotFound(id string) *errs.Error {
	return errs.New(errs.NotFound, ReasonConversationNotFound, "conversation not found",
		errs.WithResource("conversation", id, ""))
}

// ErrProtocol is a ClientMessage out of turn.
func ErrProtocol(msg string) *errs.Error {
	return errs.New(errs.FailedPrecondition, ReasonProtocol, msg)
}

// QueueFullError is the status of a participant removed for not reading:
// RESOURCE_EXHAUSTED with the last sequence it was sent.
func QueueFullError(lastSequence int64) *errs.Error {
	return errs.New(errs.ResourceExhausted, ReasonQueueFull,
		"you stopped reading and your queue filled; rejoin after the last sequence",
		errs.WithMetadata(MetadataLastSequence, fmt.Sprint(lastSequence)))
}

// storeError wraps an unexpected store failure as an internal error; a
// cancelled or expired context stays what it is.
func storeError(err error, doing string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", doing, err)
	}
	return errs.Wrap(err, errs.Internal, "", doing)
}
