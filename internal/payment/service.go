package payment

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// Service is the payment use cases. It is safe for concurrent use. Create
// it with New.
//
// Authorisation of a call is the method policy's job (declared in the API
// contract and enforced before the transport calls the Service).
type Service struct {
	store Store
	proc  Processor
	cfg   Config
}

// New returns a Service over store, charging cards through proc. Zero
// fields of cfg take their defaults (see Config). It returns an error for
// an invalid configuration.
func New(store Store, proc Processor, cfg Config) (*Service, error) {
	if store == nil {
		return nil, errors.New("payment: nil store")
	}
	if proc == nil {
		return nil, errors.New("payment: nil processor")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Service{store: store, proc: proc, cfg: cfg}, nil
}

// now is the service clock in UTC at the microsecond precision both
// databases keep, so that times read back compare equal to times written.
func (s *Service) now() time.Time {
	return s.cfg.Clock().UTC().Truncate(time.Microsecond)
}

const maxID = 64

// checkID validates an id or key field: 1 to 64 characters of valid UTF-8.
func checkID(field, v string) error {
	if v == "" || utf8.RuneCountInString(v) > maxID || !utf8.ValidString(v) {
		return invalidField(ReasonRequestInvalid, field, "must be 1 to 64 characters")
	}
	return nil
}

// checkAmount validates a requested amount: a currency code and a positive
// amount of at most MaxUnits units.
func checkAmount(field string, m Money) error {
	if !currencyPattern.MatchString(m.Currency) || m.Nanos <= 0 || m.Nanos > MaxUnits*NanosPerUnit {
		return invalidField(ReasonRequestInvalid, field,
			fmt.Sprintf("must be a positive amount of at most %d units with an ISO 4217 currency code", MaxUnits))
	}
	return nil
}

// fingerprint is the digest of a request that a retry with its key must
// match: the method and every field, in order, unambiguously separated.
func fingerprint(method string, fields ...any) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%q", method)
	for _, f := range fields {
		fmt.Fprintf(h, "\x00%#v", f)
	}
	return h.Sum(nil)
}

// replay returns a finished operation's answer: a copy of the stored
// payment, or the stored error rebuilt.
func replay(op *Operation) (*Payment, error) {
	switch r := op.Result; {
	case r == nil:
		return nil, errs.New(errs.Internal, "", "operation "+op.Method+" has no result")
	case r.Error != nil:
		return nil, r.Error.Err()
	case r.Payment == nil:
		return nil, errs.New(errs.Internal, "", "operation "+op.Method+" has an empty result")
	}
	return op.Result.Payment.Clone(), nil
}

// join handles a call whose key names an existing operation: a different
// request is IDEMPOTENCY_KEY_REUSED; a finished one is returned to be
// replayed; an unfinished one is waited for while its owner's lease lasts,
// then taken over (returned with Result nil: the caller now owns it).
func (s *Service) join(ctx context.Context, op *Operation, fp []byte) (*Operation, error) {
	poll := 2 * time.Millisecond
	for {
		if string(op.Fingerprint) != string(fp) {
			return nil, errIdempotencyKeyReused()
		}
		if op.Result != nil {
			return op, nil
		}
		now := s.now()
		if !now.Before(op.LeaseUntil) {
			owned, err := s.store.TakeOver(ctx, op.Method, op.Key, op.Epoch, now.Add(s.cfg.Lease))
			if err == nil {
				return owned, nil
			}
			if !errors.Is(err, ErrLeaseLost) {
				return nil, storeError(err, "taking over %s", op.Method)
			}
		} else {
			t := time.NewTimer(min(poll, op.LeaseUntil.Sub(now)))
			select {
			case <-ctx.Done():
				t.Stop()
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					return nil, errInProgress(s.cfg.RetryAfter)
				}
				return nil, ctx.Err()
			case <-t.C:
			}
			poll = min(2*poll, 50*time.Millisecond)
		}
		method, key := op.Method, op.Key
		var err error
		if op, err = s.store.Operation(ctx, method, key); err != nil {
			// The caller's deadline may pass during the read as well as
			// during the wait: the answer is the same.
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, errInProgress(s.cfg.RetryAfter)
			}
			return nil, storeError(err, "reading %s", method)
		}
	}
}

// callProcessor calls the processor, retrying ErrProcessorUnavailable up to
// ProcessorAttempts times with doubling backoff; each attempt is bounded by
// ProcessorTimeout.
func (s *Service) callProcessor(ctx context.Context, call func(ctx context.Context) (Charge, error)) (Charge, error) {
	backoff := s.cfg.ProcessorBackoff
	for attempt := 1; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.ProcessorTimeout)
		c, err := call(cctx)
		cancel()
		if err == nil || !errors.Is(err, ErrProcessorUnavailable) || attempt >= s.cfg.ProcessorAttempts {
			return c, err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return c, err
		case <-t.C:
		}
		backoff *= 2
	}
}

// bookkeeping returns the context for the writes that record what the
// processor did: they must happen even if the caller has gone, so they do
// not inherit its cancellation, only a bound of their own.
func bookkeeping(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}
