package apigw

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// ErrMalformedResponse is the kind of every error ResponseV1 and ResponseV2
// return: the function answered something that is not a proxy response. The
// gateway answers IntegrationFailure (502), as API Gateway does after
// logging "Malformed Lambda proxy response".
var ErrMalformedResponse = errors.New("malformed Lambda proxy response")

// Response is the HTTP answer a function's payload maps to.
type Response struct {
	Status int
	Header http.Header // as read: never nil, no hop-by-hop headers, no Content-Length
	Body   []byte      // nil for 204 and 304, which carry none
}

// Send writes resp to w with a Content-Length of its body.
func (resp Response) Send(w http.ResponseWriter) {
	h := w.Header()
	for name, values := range resp.Header {
		h[name] = values
	}
	h.Set("Content-Length", strconv.Itoa(len(resp.Body)))
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body) // the client went away; nothing to do
}

// ResponseV1 maps a REST API proxy integration's payload,
// {statusCode, headers, multiValueHeaders, body, isBase64Encoded}, to a
// Response. It accepts what API Gateway accepts and a little more:
//
//   - statusCode is required: an integer from 200 to 599, as a JSON number
//     or a numeric string.
//   - header values may be strings, numbers or booleans; null values are
//     skipped. headers and multiValueHeaders are merged: every value of
//     multiValueHeaders, then each headers value that multiValueHeaders
//     does not already have for that name (API Gateway keeps one copy of a
//     pair given in both).
//   - body is a string or null; with isBase64Encoded true it is decoded
//     from standard base64.
//   - members API Gateway does not know are ignored.
//   - Content-Type defaults to application/json, as API Gateway's does.
//
// Hop-by-hop headers (Connection and the headers it names, Keep-Alive,
// Proxy-*, TE, Trailer, Transfer-Encoding, Upgrade) and Content-Length are
// dropped: they describe a connection the function does
// not own. Any other departure is an error of kind ErrMalformedResponse.
func ResponseV1(payload []byte) (Response, error) {
	fields, err := object(payload)
	if err != nil {
		return Response{}, err
	}
	if _, ok := fields["statusCode"]; !ok {
		return Response{}, fmt.Errorf("%w: no statusCode", ErrMalformedResponse)
	}
	return structured(fields, false)
}

// ResponseV2 maps an HTTP API's payload format 2.0 answer to a Response.
// When the payload is a JSON object with a statusCode member, it is read as
// ResponseV1 reads one, and each string of its cookies array becomes a
// Set-Cookie header. Any other valid JSON — an object without statusCode, a
// string, a number, an array, null — is API Gateway's inferred response:
// 200, Content-Type application/json, and the payload itself as the body.
// A payload that is not JSON is an error of kind ErrMalformedResponse.
//
// A multiValueHeaders member is honoured as in ResponseV1 (aws-lambda-go's
// APIGatewayV2HTTPResponse has one), although an HTTP API on AWS ignores it.
func ResponseV2(payload []byte) (Response, error) {
	if !json.Valid(payload) {
		return Response{}, fmt.Errorf("%w: not JSON", ErrMalformedResponse)
	}
	if fields, err := object(payload); err == nil {
		if _, ok := fields["statusCode"]; ok {
			return structured(fields, true)
		}
	}
	header := http.Header{"Content-Type": {"application/json"}}
	return Response{Status: http.StatusOK, Header: header, Body: bytes.Clone(payload)}, nil
}

// object decodes a payload that must be a JSON object.
func object(payload []byte) (map[string]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", ErrMalformedResponse)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &fields); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedResponse, err)
	}
	return fields, nil
}

// structured reads a proxy response object; cookies are read when v2.
func structured(fields map[string]json.RawMessage, v2 bool) (Response, error) {
	status, err := statusCode(fields["statusCode"])
	if err != nil {
		return Response{}, err
	}
	header := http.Header{}
	if err := mergeHeaders(header, fields["headers"], fields["multiValueHeaders"]); err != nil {
		return Response{}, err
	}
	if v2 {
		if err := addCookies(header, fields["cookies"]); err != nil {
			return Response{}, err
		}
	}
	stripHopByHop(header)
	if header.Get("Content-Type") == "" {
		header.Set("Content-Type", "application/json")
	}
	body, err := responseBody(fields["body"], fields["isBase64Encoded"])
	if err != nil {
		return Response{}, err
	}
	if status == http.StatusNoContent || status == http.StatusNotModified {
		body = nil
	}
	return Response{Status: status, Header: header, Body: body}, nil
}

func statusCode(raw json.RawMessage) (int, error) {
	var n float64
	var s string
	switch {
	case json.Unmarshal(raw, &n) == nil && !isNull(raw):
	case json.Unmarshal(raw, &s) == nil:
		i, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return 0, fmt.Errorf("%w: statusCode %s is not a number", ErrMalformedResponse, raw)
		}
		n = float64(i)
	default:
		return 0, fmt.Errorf("%w: statusCode %s is not a number", ErrMalformedResponse, raw)
	}
	if n != math.Trunc(n) || n < 200 || n > 599 {
		return 0, fmt.Errorf("%w: statusCode %s is not an HTTP status from 200 to 599", ErrMalformedResponse, raw)
	}
	return int(n), nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// mergeHeaders adds both header members to h, in sorted name order so that
// names differing only in case merge the same way each time.
func mergeHeaders(h http.Header, single, multi json.RawMessage) error {
	var singles map[string]json.RawMessage
	if err := optional(single, &singles, "headers"); err != nil {
		return err
	}
	var multis map[string]json.RawMessage
	if err := optional(multi, &multis, "multiValueHeaders"); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(multis)) {
		var values []json.RawMessage
		if err := optional(multis[name], &values, "multiValueHeaders "+strconv.Quote(name)); err != nil {
			return err
		}
		for _, raw := range values {
			v, ok, err := headerValue(name, raw)
			if err != nil {
				return err
			}
			if ok {
				h.Add(name, v)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(singles)) {
		v, ok, err := headerValue(name, singles[name])
		if err != nil {
			return err
		}
		if ok && !slices.Contains(h.Values(name), v) {
			h.Add(name, v)
		}
	}
	return nil
}

// optional decodes raw into v unless it is absent or null.
func optional(raw json.RawMessage, v any, member string) error {
	if raw == nil || isNull(raw) {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMalformedResponse, member, err)
	}
	return nil
}

// headerValue renders one JSON header value. ok is false for null.
func headerValue(name string, raw json.RawMessage) (value string, ok bool, err error) {
	if !validHeaderName(name) {
		return "", false, fmt.Errorf("%w: header name %q is not an HTTP token", ErrMalformedResponse, name)
	}
	raw = bytes.TrimSpace(raw)
	switch {
	case isNull(raw):
		return "", false, nil
	case len(raw) > 0 && raw[0] == '"':
		if err := json.Unmarshal(raw, &value); err != nil {
			return "", false, fmt.Errorf("%w: header %q: %v", ErrMalformedResponse, name, err)
		}
	case string(raw) == "true" || string(raw) == "false":
		value = string(raw)
	default:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", false, fmt.Errorf("%w: header %q has a value that is not a string, number or boolean", ErrMalformedResponse, name)
		}
		value = n.String()
	}
	if !validHeaderValue(value) {
		return "", false, fmt.Errorf("%w: header %q has a control character in its value", ErrMalformedResponse, name)
	}
	return value, true, nil
}

func addCookies(h http.Header, raw json.RawMessage) error {
	var cookies []string
	if err := optional(raw, &cookies, "cookies"); err != nil {
		return err
	}
	for _, c := range cookies {
		if !validHeaderValue(c) {
			return fmt.Errorf("%w: a cookie has a control character", ErrMalformedResponse)
		}
		h.Add("Set-Cookie", c)
	}
	return nil
}

func responseBody(raw, isBase64 json.RawMessage) ([]byte, error) {
	var b64 bool
	if err := optional(isBase64, &b64, "isBase64Encoded"); err != nil {
		return nil, err
	}
	var text string
	if err := optional(raw, &text, "body"); err != nil {
		return nil, err
	}
	if !b64 {
		return []byte(text), nil
	}
	body, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, fmt.Errorf("%w: body is not base64: %v", ErrMalformedResponse, err)
	}
	return body, nil
}

// hopByHop are the headers of one connection (RFC 9110 §7.6.1), plus
// Content-Length, which Send recomputes.
var hopByHop = []string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length",
}

func stripHopByHop(h http.Header) {
	for _, v := range h.Values("Connection") {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopByHop {
		h.Del(name)
	}
}

// validHeaderName: an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range []byte(name) {
		if !alnum(c) && strings.IndexByte("!#$%&'*+-.^_`|~", c) < 0 {
			return false
		}
	}
	return true
}

// validHeaderValue rejects the control characters HTTP/1.1 cannot carry in a
// field value (tab is allowed).
func validHeaderValue(v string) bool {
	for _, c := range []byte(v) {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
