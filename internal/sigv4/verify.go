package sigv4

import (
	"crypto/hmac"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// DefaultMaxSkew is how far X-Amz-Date may be from the verifier's clock when
// Verifier.MaxSkew is not set; AWS allows five minutes for most services.
const DefaultMaxSkew = 5 * time.Minute

// Verifier authenticates header-signed SigV4 requests the way an AWS service
// does. Its fields are read, never written, so one Verifier serves concurrent
// requests if Secret and Now are safe to call concurrently.
type Verifier struct {
	Service string // the credential scope's service must equal it, e.g. "lambda"
	Region  string // the credential scope's region must equal it
	// Secret returns the secret access key for an access key id, and false
	// when the id is unknown. nil rejects every key.
	Secret  func(accessKeyID string) (secret string, ok bool)
	MaxSkew time.Duration    // zero or negative means DefaultMaxSkew
	Now     func() time.Time // nil means time.Now
}

// Identity is who signed a verified request.
type Identity struct {
	AccessKeyID string
	// SessionToken is the X-Amz-Security-Token header when the signature
	// covers it, else empty. Verify does not judge it: a caller that issues
	// temporary credentials must check it belongs to AccessKeyID.
	SessionToken string
}

// Verify checks r's Authorization header against body, the exact bytes of the
// request body, which the caller has read (within its own size limit) before
// calling. It returns the signer's identity, or an *Error saying, in AWS's
// words, why the request is not authentic (see the package documentation for
// the order of checks and the kinds).
//
// r may be a request received by a net/http server: the host comes from
// r.Host and the path and query from r.RequestURI, the request target exactly
// as the client sent it, so a handler that rewrote r.URL does not break
// verification. Otherwise they come from r.URL.
func (v *Verifier) Verify(r *http.Request, body []byte) (Identity, error) {
	header := r.Header.Get("Authorization")
	if header == "" {
		return Identity{}, newError(ErrMissingAuthentication, "Missing Authentication Token")
	}
	auth, err := parseAuthorization(header)
	if err != nil {
		return Identity{}, err
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if missing := auth.missing(amzDate != ""); missing != "" {
		return Identity{}, newError(ErrIncompleteSignature, "%sAuthorization=%s", missing, header)
	}
	t, err := time.Parse(timeFormat, amzDate)
	if err != nil || t.Format(timeFormat) != amzDate {
		return Identity{}, newError(ErrIncompleteSignature, "Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", amzDate)
	}
	if err := v.checkClock(t); err != nil {
		return Identity{}, err
	}
	signed := strings.Split(auth.SignedHeaders, ";")
	if !slices.ContainsFunc(signed, func(name string) bool { return strings.EqualFold(name, "host") }) {
		return Identity{}, newError(ErrSignatureMismatch, "'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}
	// Every x-amz-* header must be covered by the signature, as AWS requires:
	// a header added to a signed request (a tenant id, say) is not the
	// signer's and must not be trusted.
	if unsigned := unsignedAmzHeaders(r, signed); len(unsigned) > 0 {
		return Identity{}, newError(ErrSignatureMismatch, "There were headers present in the request which were not signed: %s", strings.Join(unsigned, ", "))
	}
	if auth.Algorithm != algorithm {
		return Identity{}, newError(ErrIncompleteSignature, "Unsupported AWS 'algorithm': '%s' (only %s for now). ", auth.Algorithm, algorithm)
	}
	credential := strings.Split(auth.Credential, "/")
	if len(credential) != 5 {
		return Identity{}, newError(ErrIncompleteSignature, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", auth.Credential)
	}
	keyID, date := credential[0], credential[1]
	if msg := v.checkScope(credential[2], credential[3], credential[4], date, amzDate); msg != "" {
		return Identity{}, newError(ErrSignatureMismatch, "%s", msg)
	}
	secret, ok := "", false
	if keyID != "" && v.Secret != nil {
		secret, ok = v.Secret(keyID)
	}
	if !ok {
		return Identity{}, newError(ErrUnrecognizedClient, "The security token included in the request is invalid.")
	}

	path, rawQuery := requestTarget(r)
	query, _ := url.ParseQuery(rawQuery) // as r.URL.Query does: malformed pairs drop out on both sides
	// The payload hash is always the body's own: a client that signed another
	// value (UNSIGNED-PAYLOAD, or an X-Amz-Content-Sha256 that does not match)
	// gets a mismatch, because the body is in hand and must be authenticated.
	canonical := canonicalRequest(r.Method, path, query, signed, requestHeaders(r), hashHex(body))
	want := sign(secret, date, v.Region, v.Service, stringToSign(amzDate, scope(date, v.Region, v.Service), canonical))
	if !hmac.Equal([]byte(want), []byte(auth.Signature)) {
		return Identity{}, newError(ErrSignatureMismatch, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}

	id := Identity{AccessKeyID: keyID}
	if slices.ContainsFunc(signed, func(name string) bool { return strings.EqualFold(name, "x-amz-security-token") }) {
		id.SessionToken = r.Header.Get("X-Amz-Security-Token")
	}
	return id, nil
}

// checkClock rejects t further than the allowed skew from now, in AWS's words.
func (v *Verifier) checkClock(t time.Time) error {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	// X-Amz-Date has whole seconds; so does the window, so that a request
	// exactly at its edge is inside it and the message never reads "t is
	// earlier than t".
	n := now().UTC().Truncate(time.Second)
	skew := v.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	minutes := strconv.FormatFloat(skew.Minutes(), 'f', -1, 64)
	switch {
	case t.Before(n.Add(-skew)):
		return newError(ErrSignatureExpired, "Signature expired: %s is now earlier than %s (%s - %s min.)",
			t.Format(timeFormat), n.Add(-skew).Format(timeFormat), n.Format(timeFormat), minutes)
	case t.After(n.Add(skew)):
		return newError(ErrSignatureExpired, "Signature not yet current: %s is still later than %s (%s + %s min.)",
			t.Format(timeFormat), n.Add(skew).Format(timeFormat), n.Format(timeFormat), minutes)
	}
	return nil
}

// checkScope compares the credential scope with the verifier's and with
// X-Amz-Date, returning AWS's messages for every part that differs, joined
// as AWS joins them, or "".
func (v *Verifier) checkScope(region, service, term, date, amzDate string) string {
	var b strings.Builder
	if region != v.Region {
		b.WriteString("Credential should be scoped to a valid region. ")
	}
	if service != v.Service {
		b.WriteString("Credential should be scoped to correct service: '" + v.Service + "'. ")
	}
	if term != terminator {
		b.WriteString("Credential should be scoped with a valid terminator: '" + terminator + "', not '" + term + "'. ")
	}
	if day := amzDate[:len(dateFormat)]; date != day {
		b.WriteString("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" + date + "' != '" + day + "', from '" + amzDate + "'. ")
	}
	return b.String()
}

// requestTarget returns the escaped path and raw query the client sent, which
// is what it signed: on a server the request target, otherwise r.URL.
func requestTarget(r *http.Request) (path, rawQuery string) {
	if strings.HasPrefix(r.RequestURI, "/") {
		path, rawQuery, _ = strings.Cut(r.RequestURI, "?")
		return path, rawQuery
	}
	return uriPath(r.URL), r.URL.RawQuery
}

// requestHeaders maps r's lower-cased header names to their values. A
// net/http server moves Host out of the header map into r.Host and, for
// chunked bodies, leaves Content-Length only in r.ContentLength.
func requestHeaders(r *http.Request) map[string][]string {
	headers := make(map[string][]string, len(r.Header)+2)
	for name, values := range r.Header {
		name = strings.ToLower(name)
		headers[name] = append(headers[name], values...)
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	headers["host"] = []string{host}
	if _, ok := headers["content-length"]; !ok && r.ContentLength >= 0 {
		headers["content-length"] = []string{strconv.FormatInt(r.ContentLength, 10)}
	}
	return headers
}

// authorization is a parsed Authorization header. Absent parameters are empty.
type authorization struct {
	Algorithm     string
	Credential    string // keyid/date/region/service/aws4_request
	SignedHeaders string // ";"-separated lower-case names
	Signature     string // hex
}

// parseAuthorization splits an Authorization header into its algorithm and
// parameters. Like AWS it separates parameters by commas and white space, and
// fails on one that is not key=value; unknown keys are ignored.
func parseAuthorization(header string) (authorization, error) {
	fields := strings.FieldsFunc(header, func(c rune) bool { return c == ',' || unicode.IsSpace(c) })
	var a authorization
	if len(fields) == 0 {
		return a, nil
	}
	a.Algorithm = fields[0]
	for _, f := range fields[1:] {
		key, value, ok := strings.Cut(f, "=")
		if !ok {
			return authorization{}, newError(ErrIncompleteSignature, "'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.", f, header)
		}
		switch key {
		case "Credential":
			a.Credential = value
		case "SignedHeaders":
			a.SignedHeaders = value
		case "Signature":
			a.Signature = value
		}
	}
	return a, nil
}

// missing returns AWS's message for each required parameter a lacks and for a
// missing X-Amz-Date, in AWS's order, or "".
func (a authorization) missing(hasDate bool) string {
	var b strings.Builder
	for _, p := range []struct{ name, value string }{
		{"Credential", a.Credential},
		{"Signature", a.Signature},
		{"SignedHeaders", a.SignedHeaders},
	} {
		if p.value == "" {
			b.WriteString("Authorization header requires '" + p.name + "' parameter. ")
		}
	}
	if !hasDate {
		b.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
	}
	return b.String()
}

// unsignedAmzHeaders lists, lower-cased and sorted, the x-amz-* headers of r
// that signed does not name.
func unsignedAmzHeaders(r *http.Request, signed []string) []string {
	var out []string
	for name := range r.Header {
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "x-amz-") && !slices.ContainsFunc(signed, func(s string) bool { return strings.EqualFold(s, lower) }) {
			out = append(out, lower)
		}
	}
	slices.Sort(out)
	return out
}
