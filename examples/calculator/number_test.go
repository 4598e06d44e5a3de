package calculator_test

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/bazaarhq/bazaar/examples/calculator"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

func TestParseDecimal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         string
		want       string // String() of the result
		wantReason string // "" when parsing succeeds
	}{
		{in: "0", want: "0"},
		{in: "-0", want: "0"},
		{in: "0.000", want: "0"},
		{in: "3", want: "3"},
		{in: "3.0", want: "3"},
		{in: "-12.50", want: "-12.5"},
		{in: "007.50", want: "7.5"},
		{in: "-0.125", want: "-0.125"},
		{in: "0.000000000000000000000000000001", want: "0.000000000000000000000000000001"},
		{in: strings.Repeat("9", 38), want: strings.Repeat("9", 38)},
		{in: strings.Repeat("0", 50) + "1", want: "1"},
		{in: "0." + strings.Repeat("1", 60), want: "0." + strings.Repeat("1", 60)},
		{in: strings.Repeat("9", 39), wantReason: "DECIMAL_OVERFLOW"},
		{in: "-1" + strings.Repeat("0", 38) + ".5", wantReason: "DECIMAL_OVERFLOW"},
		{in: "0." + strings.Repeat("1", 61), wantReason: "INVALID_DECIMAL"},
		{in: "", wantReason: "INVALID_DECIMAL"},
		{in: "-", wantReason: "INVALID_DECIMAL"},
		{in: "--1", wantReason: "INVALID_DECIMAL"},
		{in: "+1", wantReason: "INVALID_DECIMAL"},
		{in: "1e5", wantReason: "INVALID_DECIMAL"},
		{in: "1E5", wantReason: "INVALID_DECIMAL"},
		{in: ".5", wantReason: "INVALID_DECIMAL"},
		{in: "5.", wantReason: "INVALID_DECIMAL"},
		{in: "1.2.3", wantReason: "INVALID_DECIMAL"},
		{in: " 1", wantReason: "INVALID_DECIMAL"},
		{in: "1 ", wantReason: "INVALID_DECIMAL"},
		{in: "1_000", wantReason: "INVALID_DECIMAL"},
		{in: "0x10", wantReason: "INVALID_DECIMAL"},
		{in: "1/3", wantReason: "INVALID_DECIMAL"},
		{in: "NaN", wantReason: "INVALID_DECIMAL"},
		{in: "Inf", wantReason: "INVALID_DECIMAL"},
		{in: "１", wantReason: "INVALID_DECIMAL"}, // a full-width digit
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := calculator.ParseDecimal(tt.in)
			if tt.wantReason != "" {
				wantCode := map[string]codes.Code{"INVALID_DECIMAL": codes.InvalidArgument, "DECIMAL_OVERFLOW": codes.OutOfRange}[tt.wantReason]
				if d := details(err); err == nil || d.Reason != tt.wantReason || d.Code != wantCode {
					t.Errorf("ParseDecimal(%q) = %v, %v; want code %v reason %s", tt.in, got, err, wantCode, tt.wantReason)
				}
				return
			}
			if err != nil || got.String() != tt.want || !got.IsDecimal() {
				t.Errorf("ParseDecimal(%q) = %v (decimal %v), %v; want decimal %s", tt.in, got, got.IsDecimal(), err, tt.want)
			}
			if _, isInt := got.Int64(); isInt {
				t.Errorf("ParseDecimal(%q).Int64() reports an int, want a decimal", tt.in)
			}
		})
	}
}

func TestNumber(t *testing.T) {
	t.Parallel()
	var zero calculator.Number
	if v, ok := zero.Int64(); !ok || v != 0 || !zero.IsZero() || zero.String() != "0" {
		t.Errorf("zero Number = %v (Int64 %d, %v; IsZero %v), want the int 0", zero, v, ok, zero.IsZero())
	}
	for _, v := range []int64{math.MinInt64, -1, 0, 7, math.MaxInt64} {
		n := calculator.Int(v)
		got, ok := n.Int64()
		if !ok || got != v || n.IsDecimal() || n.String() != strconv.FormatInt(v, 10) || n.IsZero() != (v == 0) {
			t.Errorf("Int(%d) = %v (Int64 %d, %v; IsDecimal %v; IsZero %v)", v, n, got, ok, n.IsDecimal(), n.IsZero())
		}
	}
}

func TestMean(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		numbers []string // a '.' makes a decimal
		want    string
	}{
		{"one", []string{"5"}, "5"},
		{"ints", []string{"1", "2"}, "1.5"},
		{"repeating", []string{"1", "2", "2"}, "1.666666666666666666666666666667"},
		{"mixed", []string{"0.1", "0.2", "3"}, "1.1"},
		{"no int overflow", []string{strconv.FormatInt(math.MaxInt64, 10), strconv.FormatInt(math.MaxInt64, 10)}, "9223372036854775807"},
		{"extremes", []string{strconv.FormatInt(math.MinInt64, 10), strconv.FormatInt(math.MaxInt64, 10)}, "-0.5"},
		{"cancelling", []string{"-1", "1.0"}, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var m calculator.Mean
			for _, s := range tt.numbers {
				m.Add(mustNumber(t, s))
			}
			got, err := m.Result()
			if err != nil || got.String() != tt.want || !got.IsDecimal() || m.Count() != uint64(len(tt.numbers)) {
				t.Errorf("Mean of %v = %v (count %d), %v; want decimal %s (count %d)", tt.numbers, got, m.Count(), err, tt.want, len(tt.numbers))
			}
		})
	}
	t.Run("empty", func(t *testing.T) {
		t.Parallel()
		var m calculator.Mean
		got, err := m.Result()
		d := details(err)
		if err == nil || d.Code != codes.InvalidArgument || d.Reason != "EMPTY_STREAM" || len(d.FieldViolations) != 1 || d.FieldViolations[0].Field != "number" {
			t.Errorf("Mean{}.Result() = %v, %v; want EMPTY_STREAM with a violation on number", got, err)
		}
	})
}

func TestRunningMaxDomain(t *testing.T) {
	t.Parallel()
	var r calculator.RunningMax
	for i, tt := range []struct{ x, want int64 }{{-5, -5}, {-7, -5}, {math.MinInt64, -5}, {0, 0}, {math.MaxInt64, math.MaxInt64}, {1, math.MaxInt64}} {
		if got, n := r.Observe(tt.x); got != tt.want || n != uint64(i+1) {
			t.Errorf("Observe(%d) = %d, %d; want %d, %d", tt.x, got, n, tt.want, i+1)
		}
	}
}

// mustNumber reads s as the client programs do: with a '.' it is a
// decimal, otherwise an int64.
func mustNumber(t *testing.T, s string) calculator.Number {
	t.Helper()
	if strings.Contains(s, ".") {
		n, err := calculator.ParseDecimal(s)
		if err != nil {
			t.Fatalf("ParseDecimal(%q) = %v", s, err)
		}
		return n
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("strconv.ParseInt(%q) = %v", s, err)
	}
	return calculator.Int(v)
}

// details reads a domain error as a client would receive it: through the
// platform's one error table (errs.ToStatus) and back (errs.FromError).
func details(err error) errs.Details {
	return errs.FromError(errs.ToStatus(err).Err())
}

// TestDecimalRange checks the MaxIntegerDigits limit on results at its
// boundary, on both signs.
func TestDecimalRange(t *testing.T) {
	t.Parallel()
	nines := strings.Repeat("9", calculator.MaxIntegerDigits)
	tests := []struct {
		a, b       string
		want       string
		wantReason string
	}{
		{a: nines, b: "0.5", want: nines + ".5"},
		{a: "-" + nines, b: "-0.999", want: "-" + nines + ".999"},
		{a: nines, b: "1", wantReason: "DECIMAL_OVERFLOW"},
		{a: "-" + nines, b: "-1", wantReason: "DECIMAL_OVERFLOW"},
		{a: nines, b: "0.000000000000000000000000000001", want: nines + ".000000000000000000000000000001"},
	}
	for _, tt := range tests {
		a, errA := calculator.ParseDecimal(tt.a)
		b, errB := calculator.ParseDecimal(tt.b)
		if errA != nil || errB != nil {
			t.Fatalf("ParseDecimal(%s, %s) = %v, %v", tt.a, tt.b, errA, errB)
		}
		got, err := calculator.Add(a, b)
		if tt.wantReason != "" {
			if d := details(err); err == nil || d.Code != codes.OutOfRange || d.Reason != tt.wantReason {
				t.Errorf("Add(%s, %s) = %v, %v; want code OutOfRange reason %s", tt.a, tt.b, got, err, tt.wantReason)
			}
			continue
		}
		if err != nil || got.String() != tt.want {
			t.Errorf("Add(%s, %s) = %v, %v; want %s", tt.a, tt.b, got, err, tt.want)
		}
	}
}
