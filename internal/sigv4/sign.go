package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	algorithm  = "AWS4-HMAC-SHA256"
	timeFormat = "20060102T150405Z" // X-Amz-Date
	dateFormat = "20060102"         // the credential scope's date
	terminator = "aws4_request"
)

// Credentials is an access key pair, with the session token of temporary
// credentials.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string // empty for long-term keys
}

// ignoredHeaders are never signed: they are rewritten by proxies and
// transports on the way, or (authorization) carry the signature itself. The
// list is aws-sdk-go-v2's, so Sign signs what the SDK signs.
var ignoredHeaders = []string{"authorization", "user-agent", "x-amzn-trace-id", "expect", "transfer-encoding"}

// Sign signs r in place for region and service at time t, as aws-sdk-go-v2's
// v4.Signer.SignHTTP does (the same signed headers and the same signature).
// body is the exact payload r will send (nil for none).
//
// Sign sets X-Amz-Date and Authorization, sets X-Amz-Security-Token when
// creds.SessionToken is not empty (and removes a stale one otherwise), drops
// a default port from the host, and rewrites r.URL.RawQuery to its canonical
// form so that the query sent is the query signed. It signs host,
// content-length when r.ContentLength > 0, and every header already on r
// except Authorization, User-Agent, X-Amzn-Trace-Id, Expect and
// Transfer-Encoding; set headers before signing. Signing again (a retry)
// replaces the previous signature.
func Sign(r *http.Request, body []byte, creds Credentials, region, service string, t time.Time) error {
	switch {
	case creds.AccessKeyID == "" || creds.SecretAccessKey == "":
		return errors.New("sigv4: sign: credentials need an access key id and a secret access key")
	case region == "" || service == "":
		return errors.New("sigv4: sign: region and service are required")
	case r.URL == nil:
		return errors.New("sigv4: sign: request has no URL")
	case r.ContentLength > 0 && r.ContentLength != int64(len(body)):
		// The signature would cover a content-length that does not describe
		// the payload it hashes; the server could never verify it.
		return fmt.Errorf("sigv4: sign: request ContentLength is %d but body has %d bytes", r.ContentLength, len(body))
	}

	if r.Header == nil {
		r.Header = make(http.Header)
	}
	t = t.UTC()
	amzDate := t.Format(timeFormat)
	r.Header.Set("X-Amz-Date", amzDate)
	if creds.SessionToken != "" {
		r.Header.Set("X-Amz-Security-Token", creds.SessionToken)
	} else {
		r.Header.Del("X-Amz-Security-Token")
	}

	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	// The Go client would send the port as given; AWS SDKs drop a default one,
	// and the server signs what it receives.
	if h := withoutDefaultPort(r.URL.Scheme, host); h != host {
		host, r.Host = h, h
	}

	headers := map[string][]string{"host": {host}}
	if r.ContentLength > 0 {
		headers["content-length"] = []string{strconv.FormatInt(r.ContentLength, 10)}
	}
	for name, values := range r.Header {
		name = strings.ToLower(name)
		// host and content-length come from the request's fields, which are
		// what the transport sends; header map entries for them are not.
		if name == "host" || name == "content-length" || slices.Contains(ignoredHeaders, name) {
			continue
		}
		headers[name] = append(headers[name], values...)
	}
	signed := make([]string, 0, len(headers))
	for name := range headers {
		signed = append(signed, name)
	}
	slices.Sort(signed)

	query := r.URL.Query()
	r.URL.RawQuery = canonicalQuery(query)

	date := t.Format(dateFormat)
	credentialScope := scope(date, region, service)
	canonical := canonicalRequest(r.Method, uriPath(r.URL), query, signed, headers, hashHex(body))
	signature := sign(creds.SecretAccessKey, date, region, service, stringToSign(amzDate, credentialScope, canonical))

	r.Header.Set("Authorization", algorithm+" Credential="+creds.AccessKeyID+"/"+credentialScope+
		", SignedHeaders="+strings.Join(signed, ";")+", Signature="+signature)
	return nil
}

// withoutDefaultPort returns host without ":80" for http or ":443" for https.
// Unlike the SDK it keeps an IPv6 literal's brackets, which Host requires.
func withoutDefaultPort(scheme, host string) string {
	h, port, err := net.SplitHostPort(host)
	if err != nil {
		return host // no port
	}
	if (strings.EqualFold(scheme, "http") && port == "80") || (strings.EqualFold(scheme, "https") && port == "443") {
		if strings.Contains(h, ":") {
			return "[" + h + "]" // IPv6 literals keep their brackets in Host
		}
		return h
	}
	return host
}

// uriPath returns u's path as the Go client sends it, preferring an Opaque
// form (which callers use to send a path escaped their own way), as the SDK
// does.
func uriPath(u *url.URL) string {
	if u.Opaque == "" {
		return u.EscapedPath()
	}
	opaque, _, _ := strings.Cut(u.Opaque, "?")
	opaque = strings.TrimPrefix(opaque, "//")
	if i := strings.IndexByte(opaque, '/'); i >= 0 {
		return opaque[i:]
	}
	return ""
}

// canonicalRequest is SigV4's canonical request. escapedPath is the path as
// sent on the wire; headers maps lower-cased names to their values, and
// signed lists the names to include, in the order the signer listed them.
func canonicalRequest(method, escapedPath string, query url.Values, signed []string, headers map[string][]string, payloadHash string) string {
	var b strings.Builder
	b.WriteString(method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(escapedPath))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(query))
	b.WriteByte('\n')
	for _, name := range signed {
		b.WriteString(name)
		b.WriteByte(':')
		for i, v := range headers[strings.ToLower(name)] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(canonicalValue(v))
		}
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// canonicalURI escapes the already-escaped path once more, every byte but
// RFC 3986 unreserved characters and "/": SigV4 double-encodes paths for all
// services but S3, so "arn%3Aaws" is signed as "arn%253Aaws".
func canonicalURI(escapedPath string) string {
	if escapedPath == "" {
		return "/"
	}
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(escapedPath); i++ {
		c := escapedPath[i]
		if c == '/' || unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xF])
	}
	return b.String()
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// canonicalQuery encodes every name and value RFC 3986 style (a space is %20,
// not url.Values.Encode's "+") and sorts the pairs after encoding, by name
// then value, as the SigV4 specification requires.
func canonicalQuery(query url.Values) string {
	type pair struct{ name, value string }
	var pairs []pair
	for name, values := range query {
		name = queryEscape(name)
		for _, v := range values {
			pairs = append(pairs, pair{name, queryEscape(v)})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.name)
		b.WriteByte('=')
		b.WriteString(p.value)
	}
	return b.String()
}

// queryEscape is url.QueryEscape with a space as %20; it escapes a literal
// "+" as %2B, so replacing "+" rewrites only spaces.
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// canonicalValue trims a header value and collapses runs of spaces to one,
// as aws-sdk-go-v2 does (tabs inside a value are kept).
func canonicalValue(v string) string {
	if strings.Contains(v, "  ") {
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			if v[i] == ' ' && i > 0 && v[i-1] == ' ' {
				continue
			}
			b.WriteByte(v[i])
		}
		v = b.String()
	}
	return strings.TrimSpace(v)
}

func scope(date, region, service string) string {
	return date + "/" + region + "/" + service + "/" + terminator
}

func stringToSign(amzDate, scope, canonicalRequest string) string {
	return algorithm + "\n" + amzDate + "\n" + scope + "\n" + hashHex([]byte(canonicalRequest))
}

// sign derives the signing key for date, region and service from secret and
// returns the hex signature of stringToSign.
func sign(secret, date, region, service, stringToSign string) string {
	key := hmacSHA256([]byte("AWS4"+secret), date)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, terminator)
	return hex.EncodeToString(hmacSHA256(key, stringToSign))
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
