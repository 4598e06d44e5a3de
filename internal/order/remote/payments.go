package remote

import (
	"context"

	"google.golang.org/genproto/googleapis/type/money"

	paymentv1 "github.com/bazaarhq/bazaar/gen/bazaar/payment/v1"
	"github.com/bazaarhq/bazaar/internal/order"
)

// Payments implements order.Payments over the payment service's gRPC API.
// The client's principal must be the order service.
type Payments struct {
	client paymentv1.PaymentServiceClient
}

var _ order.Payments = (*Payments)(nil)

// NewPayments returns the adapter over client (one per process, on the
// payment service's ClientConn from grpcx.NewClient).
func NewPayments(client paymentv1.PaymentServiceClient) *Payments { return &Payments{client: client} }

func moneyProto(m order.Money) *money.Money {
	return &money.Money{CurrencyCode: m.Currency, Units: m.Units, Nanos: m.Nanos}
}

// Authorize implements order.Payments. A decline carries the recorded
// payment's id; an answer whose payment is still pending is transient.
func (p *Payments) Authorize(ctx context.Context, r order.AuthorizeRequest) (string, error) {
	resp, err := p.client.Authorize(ctx, &paymentv1.AuthorizeRequest{
		IdempotencyKey: r.Key, OrderId: r.OrderID, CustomerId: r.CustomerID, Amount: moneyProto(r.Amount),
		CardNumber: r.CardNumber,
	})
	if err != nil {
		return "", classify(err, map[string]string{"PAYMENT_DECLINED": order.ReasonPaymentDeclined, "CARD_INVALID": order.ReasonCardInvalid})
	}
	pay := resp.GetPayment()
	switch pay.GetStatus() {
	case paymentv1.PaymentStatus_PAYMENT_STATUS_PENDING:
		return "", order.Transient("PAYMENT_PENDING", nil)
	case paymentv1.PaymentStatus_PAYMENT_STATUS_DECLINED:
		return "", &order.RemoteError{Permanent: true, Reason: order.ReasonPaymentDeclined, Message: "the payment was declined", PaymentID: pay.GetId()}
	}
	return pay.GetId(), nil
}

// Capture implements order.Payments.
func (p *Payments) Capture(ctx context.Context, key, paymentID string, amount order.Money) error {
	_, err := p.client.Capture(ctx, &paymentv1.CaptureRequest{IdempotencyKey: key, PaymentId: paymentID, Amount: moneyProto(amount)})
	if err != nil {
		return classify(err, map[string]string{"PAYMENT_STATE": order.ReasonPaymentRejected, "PAYMENT_NOT_FOUND": order.ReasonPaymentNotFound})
	}
	return nil
}

// Void implements order.Payments: voiding a captured payment is
// PAYMENT_CAPTURED (refund it instead).
func (p *Payments) Void(ctx context.Context, key, paymentID string) error {
	if _, err := p.client.Void(ctx, &paymentv1.VoidRequest{IdempotencyKey: key, PaymentId: paymentID}); err != nil {
		return classify(err, map[string]string{"PAYMENT_STATE": order.ReasonPaymentCaptured, "PAYMENT_NOT_FOUND": order.ReasonPaymentNotFound})
	}
	return nil
}

// Refund implements order.Payments: refunding an uncaptured payment is
// PAYMENT_NOT_CAPTURED (void it instead); one refunded in full already is
// PAYMENT_REFUNDED.
func (p *Payments) Refund(ctx context.Context, key, paymentID string, amount order.Money) error {
	if _, err := p.client.Refund(ctx, &paymentv1.RefundRequest{IdempotencyKey: key, PaymentId: paymentID, Amount: moneyProto(amount)}); err != nil {
		return classify(err, map[string]string{
			"PAYMENT_STATE": order.ReasonPaymentNotCaptured, "REFUND_EXCEEDS_CAPTURE": order.ReasonPaymentRefunded,
			"PAYMENT_NOT_FOUND": order.ReasonPaymentNotFound,
		})
	}
	return nil
}
