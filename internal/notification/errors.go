package notification

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/pagetoken"
)

// The ErrorInfo reasons of the errors the Service returns. They are part of
// the API: clients switch on them.
const (
	// ReasonPageSizeInvalid (INVALID_ARGUMENT, field "page_size").
	ReasonPageSizeInvalid = "PAGE_SIZE_INVALID"
	// ReasonPageTokenInvalid (INVALID_ARGUMENT, field "page_token").
	ReasonPageTokenInvalid = pagetoken.Reason
	// ReasonRequestInvalid (INVALID_ARGUMENT, field named).
	ReasonRequestInvalid = "REQUEST_INVALID"
	// ReasonListAllDenied (PERMISSION_DENIED): only admins list every
	// user's e-mails.
	ReasonListAllDenied = "LIST_ALL_DENIED"
	// ReasonSubscriberTooSlow (RESOURCE_EXHAUSTED): the subscriber did not
	// read its notifications fast enough; ErrorInfo metadata
	// MetadataResumeAfterID is the last id delivered: subscribe again after
	// it.
	ReasonSubscriberTooSlow = "SUBSCRIBER_TOO_SLOW"
	// ReasonStoreUnavailable (UNAVAILABLE): a subscription could not read
	// the store; resume with the last id.
	ReasonStoreUnavailable = "STORE_UNAVAILABLE"
)

// MetadataResumeAfterID is the ErrorInfo metadata key of the resume cursor
// of a subscription that ended as too slow.
const MetadataResumeAfterID = "resume_after_id"

// ErrUnauthenticated is returned to calls without a user principal.
var ErrUnauthenticated = errs.New(errs.Unauthenticated, "CREDENTIALS_REQUIRED", "this method needs a signed-in user")

// ErrSubscriberTooSlow matches (errors.Is) the error that ends a
// subscription whose queue overflowed.
var ErrSubscriberTooSlow = errs.New(errs.ResourceExhausted, ReasonSubscriberTooSlow, "subscriber too slow")

func errTooSlow(lastID int64) *errs.Error {
	return errs.New(errs.ResourceExhausted, ReasonSubscriberTooSlow,
		"the subscriber read too slowly and its queue is full; subscribe again with after_id = "+strconv.FormatInt(lastID, 10),
		errs.WithMetadata(MetadataResumeAfterID, strconv.FormatInt(lastID, 10)))
}

func invalidField(reason, field, description string) *errs.Error {
	return errs.BadRequest(reason, errs.FieldViolation{Field: field, Description: description})
}

// storeError wraps an unexpected store failure as an internal error that
// says what was being done. A cancelled or expired context stays what it
// is.
func storeError(err error, doing string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", doing, err)
	}
	return errs.Wrap(err, errs.Internal, "", doing)
}
