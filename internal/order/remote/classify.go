package remote

import (
	"google.golang.org/grpc/codes"

	"github.com/bazaarhq/bazaar/internal/order"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// classify turns a failed call's error into an order.RemoteError; rename
// maps remote reasons to the domain's (a reason not in it is kept).
func classify(err error, rename map[string]string) *order.RemoteError {
	d := errs.FromError(err)
	reason := d.Reason
	if r, ok := rename[reason]; ok {
		reason = r
	}
	if reason == "" {
		reason = d.Code.String()
	}
	switch d.Code {
	case codes.FailedPrecondition, codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.OutOfRange:
		return &order.RemoteError{
			Permanent: true, Reason: reason, Message: d.Message, PaymentID: d.Metadata["payment_id"], Err: err,
		}
	}
	return order.Transient(reason, err)
}
