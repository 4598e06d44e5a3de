package catalog_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/bazaarhq/bazaar/internal/catalog"
)

func eur(units int64, nanos int32) catalog.Money {
	return catalog.Money{Currency: "EUR", Units: units, Nanos: nanos}
}

func TestMoneyValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		m    catalog.Money
		want bool
	}{
		{eur(1, 500000000), true},
		{eur(-1, -500000000), true},
		{eur(0, -5), true},
		{eur(1, -5), false},
		{eur(-1, 5), false},
		{eur(0, 1000000000), false},
		{catalog.Money{Currency: "eur", Units: 1}, false},
		{catalog.Money{Currency: "EURO", Units: 1}, false},
	} {
		if got := tc.m.Validate() == nil; got != tc.want {
			t.Errorf("%+v.Validate() ok = %v, want %v", tc.m, got, tc.want)
		}
	}
}

func TestMoneyArithmetic(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b, want catalog.Money
	}{
		{eur(1, 600000000), eur(2, 500000000), eur(4, 100000000)},
		{eur(1, 0), eur(-1, -1), eur(0, -1)},
		{eur(-1, -600000000), eur(-2, -500000000), eur(-4, -100000000)},
		{eur(5, 100000000), eur(-2, -200000000), eur(2, 900000000)},
		{eur(-5, -100000000), eur(2, 200000000), eur(-2, -900000000)},
	} {
		got, err := tc.a.Add(tc.b)
		if err != nil || got != tc.want {
			t.Errorf("%v.Add(%v) = %v, %v; want %v", tc.a, tc.b, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		a    catalog.Money
		n    int64
		want catalog.Money
	}{
		{eur(0, 333333333), 3, eur(0, 999999999)},
		{eur(1, 500000000), 3, eur(4, 500000000)},
		{eur(1, 500000000), -3, eur(-4, -500000000)},
		{eur(7, 1), 0, eur(0, 0)},
	} {
		got, err := tc.a.Mul(tc.n)
		if err != nil || got != tc.want {
			t.Errorf("%v.Mul(%d) = %v, %v; want %v", tc.a, tc.n, got, err, tc.want)
		}
	}
	if _, err := eur(math.MaxInt64, 999999999).Add(eur(0, 1)); !errors.Is(err, catalog.ErrOverflow) {
		t.Errorf("max.Add(1 nano) = %v, want ErrOverflow", err)
	}
	if _, err := eur(math.MaxInt64/2+1, 0).Mul(2); !errors.Is(err, catalog.ErrOverflow) {
		t.Errorf("(max/2+1).Mul(2) = %v, want ErrOverflow", err)
	}
	if _, err := eur(1, 0).Add(catalog.Money{Currency: "USD", Units: 1}); !errors.Is(err, catalog.ErrCurrencyMismatch) {
		t.Errorf("EUR.Add(USD) = %v, want ErrCurrencyMismatch", err)
	}
}

func TestMoneyCmp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b catalog.Money
		want int
	}{
		{eur(1, 0), eur(0, 999999999), 1},
		{eur(-1, 0), eur(0, -999999999), -1},
		{eur(2, 5), eur(2, 5), 0},
		{eur(-1, -5), eur(-1, -4), -1},
	} {
		if got, err := tc.a.Cmp(tc.b); err != nil || got != tc.want {
			t.Errorf("%v.Cmp(%v) = %d, %v; want %d", tc.a, tc.b, got, err, tc.want)
		}
	}
	if _, err := eur(1, 0).Cmp(catalog.Money{Currency: "USD"}); !errors.Is(err, catalog.ErrCurrencyMismatch) {
		t.Errorf("EUR.Cmp(USD) = %v, want ErrCurrencyMismatch", err)
	}
}

func ExampleMoney_Add() {
	price := catalog.Money{Currency: "EUR", Units: 19, Nanos: 990000000}
	shipping := catalog.Money{Currency: "EUR", Units: 4, Nanos: 50000000}
	total, _ := price.Add(shipping)
	fmt.Println(total)
	// Output: EUR 24.04
}
