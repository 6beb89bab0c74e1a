package ddb

import (
	"fmt"
	"strings"
)

// Key encoding: see the package documentation for the layout. A longer
// positive mantissa with the same prefix is the larger number and an absent
// byte sorts first; for negatives the 0xFF terminator reverses that.

const (
	keyNegative = 0x01
	keyZero     = 0x02
	keyPositive = 0x03
	keyEnd      = 0xFF
)

// EncodeKey returns the order-preserving encoding of a key value (S, N or B).
func EncodeKey(v AttributeValue) ([]byte, error) {
	switch v.typ {
	case TypeS, TypeB:
		return []byte(v.str), nil
	case TypeN:
		return appendNumberKey(nil, decimalOf(v.str)), nil
	}
	return nil, fmt.Errorf("ddb: a key value must be S, N or B, not %v: %w", v.typ, errKeySchema)
}

func appendNumberKey(dst []byte, d decimal) []byte {
	if d.digits == "" {
		return append(dst, keyZero)
	}
	exp := byte(d.exp - minNumberExp)
	if !d.neg {
		dst = append(dst, keyPositive, exp)
		return append(dst, d.digits...)
	}
	dst = append(dst, keyNegative, ^exp)
	for i := 0; i < len(d.digits); i++ {
		dst = append(dst, '9'-d.digits[i]+'0')
	}
	return append(dst, keyEnd)
}

// DecodeKey reverses EncodeKey for a value of type t.
func DecodeKey(t Type, b []byte) (AttributeValue, error) {
	switch t {
	case TypeS:
		return S(string(b)), nil
	case TypeB:
		return B(b), nil
	case TypeN:
		d, err := decodeNumberKey(b)
		if err != nil {
			return AttributeValue{}, err
		}
		return AttributeValue{typ: TypeN, str: d.String()}, nil
	}
	return AttributeValue{}, fmt.Errorf("ddb: a key value must be S, N or B, not %v", t)
}

func decodeNumberKey(b []byte) (decimal, error) {
	bad := fmt.Errorf("ddb: malformed number key %x", b)
	if len(b) == 0 {
		return decimal{}, bad
	}
	switch b[0] {
	case keyZero:
		if len(b) != 1 {
			return decimal{}, bad
		}
		return decimal{}, nil
	case keyPositive:
		if len(b) < 3 {
			return decimal{}, bad
		}
		d := decimal{exp: int(b[1]) + minNumberExp, digits: string(b[2:])}
		return d, checkKeyDigits(d, bad)
	case keyNegative:
		if len(b) < 4 || b[len(b)-1] != keyEnd {
			return decimal{}, bad
		}
		var digits strings.Builder
		for _, c := range b[2 : len(b)-1] {
			if c < '0' || c > '9' {
				return decimal{}, bad
			}
			digits.WriteByte('9' - c + '0')
		}
		d := decimal{neg: true, exp: int(^b[1]) + minNumberExp, digits: digits.String()}
		return d, checkKeyDigits(d, bad)
	}
	return decimal{}, bad
}

func checkKeyDigits(d decimal, bad error) error {
	if len(d.digits) == 0 || len(d.digits) > maxNumberDigits || d.digits[0] == '0' || d.digits[len(d.digits)-1] == '0' {
		return bad
	}
	for i := 0; i < len(d.digits); i++ {
		if !isDigit(d.digits[i]) {
			return bad
		}
	}
	return nil
}
