package calculator

// The google.rpc.ErrorInfo reasons of the calculator's errors. They are part
// of the API contract: clients compare errs.Reason(err) with them.
const (
	// ReasonInt64Overflow (OUT_OF_RANGE): an operation on two ints has a
	// result outside int64. Sending an operand as a decimal gives the exact
	// result instead.
	ReasonInt64Overflow = "INT64_OVERFLOW"
	// ReasonDecimalOverflow (OUT_OF_RANGE): a decimal has more than
	// MaxIntegerDigits digits before the point.
	ReasonDecimalOverflow = "DECIMAL_OVERFLOW"
	// ReasonDivisionByZero (INVALID_ARGUMENT, with a BadRequest violation on
	// field "b"): the divisor is zero, whether int 0 or a decimal like
	// "0.000".
	ReasonDivisionByZero = "DIVISION_BY_ZERO"
	// ReasonInvalidDecimal (INVALID_ARGUMENT): a decimal string is not in
	// plain notation, or has more than MaxFractionDigits digits after the
	// point.
	ReasonInvalidDecimal = "INVALID_DECIMAL"
	// ReasonEmptyStream (INVALID_ARGUMENT, with a BadRequest violation on
	// field "number"): Average was closed before any number arrived; the
	// mean of nothing is undefined.
	ReasonEmptyStream = "EMPTY_STREAM"
	// ReasonTooManyNumbers (RESOURCE_EXHAUSTED, with a QuotaFailure): an
	// Average stream sent more numbers than the server accepts.
	ReasonTooManyNumbers = "TOO_MANY_NUMBERS"
	// ReasonNotFactorable (INVALID_ARGUMENT, with a BadRequest violation on
	// field "number"): PrimeFactors was asked about a number below 2.
	ReasonNotFactorable = "NOT_FACTORABLE"
)
