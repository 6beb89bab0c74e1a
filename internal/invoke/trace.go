package invoke

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// traceparent is a W3C trace context header: version-traceid-parentid-flags.
var traceparent = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$`)

// xrayHeader is the characters an X-Amzn-Trace-Id may hold (key=value pairs
// joined with ';'), bounded in length.
var xrayHeader = regexp.MustCompile(`^[A-Za-z0-9=;\-_.:]{1,256}$`)

// traceHeader returns the X-Ray trace header an invocation passes to its
// runtime (Lambda-Runtime-Trace-Id, which runtimes export as
// _X_AMZN_TRACE_ID): the caller's X-Amzn-Trace-Id when it sent a well-formed
// one, else its W3C traceparent in X-Ray's form (the same trace id, split as
// X-Ray writes it), else a new root, as Lambda starts one.
func traceHeader(amzn, w3c string) string {
	if xrayHeader.MatchString(amzn) && strings.Contains(amzn, "Root=") {
		return amzn
	}
	if m := traceparent.FindStringSubmatch(strings.ToLower(strings.TrimSpace(w3c))); m != nil {
		sampled := "0"
		if m[3] == "01" {
			sampled = "1"
		}
		return fmt.Sprintf("Root=1-%s-%s;Parent=%s;Sampled=%s", m[1][:8], m[1][8:], m[2], sampled)
	}
	var id [12]byte
	rand.Read(id[:])
	return fmt.Sprintf("Root=1-%08x-%s;Sampled=0", time.Now().Unix(), hex.EncodeToString(id[:]))
}
