package grpcserver

import (
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/types/known/timestamppb"

	paymentv1 "github.com/bazaarhq/bazaar/gen/bazaar/payment/v1"
	"github.com/bazaarhq/bazaar/internal/payment"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

func moneyProto(m payment.Money) *money.Money {
	units, nanos := m.Split()
	return &money.Money{CurrencyCode: m.Currency, Units: units, Nanos: nanos}
}

// moneyOf maps a request amount; the protovalidate rules have checked it,
// so an error here means a caller bypassed them (a direct call in tests).
func moneyOf(field string, m *money.Money) (payment.Money, error) {
	out, err := payment.MoneyOf(m.GetCurrencyCode(), m.GetUnits(), m.GetNanos())
	if err != nil {
		return payment.Money{}, errs.BadRequest(payment.ReasonRequestInvalid, errs.FieldViolation{Field: field, Description: err.Error()})
	}
	return out, nil
}

// optionalMoney maps an optional amount: nil stays nil.
func optionalMoney(field string, m *money.Money) (*payment.Money, error) {
	if m == nil {
		return nil, nil
	}
	out, err := moneyOf(field, m)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func paymentProto(p *payment.Payment) *paymentv1.Payment {
	return &paymentv1.Payment{
		Id: p.ID, OrderId: p.OrderID, CustomerId: p.CustomerID, Amount: moneyProto(p.Amount),
		CapturedAmount: moneyProto(p.CapturedAmount), RefundedAmount: moneyProto(p.RefundedAmount),
		Status: paymentv1.PaymentStatus(p.Status), CardBrand: p.CardBrand, CardLast4: p.CardLast4,
		ProcessorReference: p.ProcessorReference, DeclineCode: p.DeclineCode,
		CreateTime: timestamppb.New(p.CreateTime), UpdateTime: timestamppb.New(p.UpdateTime),
	}
}
