package lambdaapi

import (
	"net/http"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
)

// AuditPath is Bulkhead's audit log API: GET with since, operation, after
// and limit.
const AuditPath = "/bulkhead/v1/audit"

// AuditEntry is one audit log entry on the wire.
type AuditEntry struct {
	ID        int64
	Time      time.Time
	RequestID string
	Principal string
	Source    string
	Operation string
	Resource  string
	Outcome   string
}

// AuditOutput holds entries oldest first and the ID to pass as after= for
// the next page.
type AuditOutput struct {
	Entries   []AuditEntry
	NextAfter int64
}

// queryAudit answers GET /bulkhead/v1/audit?[since=S][&operation=O]
// [&after=N][&limit=N]; since defaults to 24h.
func (a *API) queryAudit(w http.ResponseWriter, r *http.Request, _ []byte) error {
	if a.audit == nil {
		return errdefs.New(errdefs.ErrNotFound, "This server keeps no audit log.")
	}
	v := r.URL.Query()
	since := v.Get("since")
	if since == "" {
		since = "24h"
	}
	from, err := when(since, "since", time.Now())
	if err != nil {
		return err
	}
	after, err := afterParam(v)
	if err != nil {
		return err
	}
	limit, err := limitParam(v, 1000, 10000)
	if err != nil {
		return err
	}
	entries, err := a.audit.Entries(r.Context(), from, v.Get("operation"), after, limit)
	if err != nil {
		return err
	}
	out := AuditOutput{Entries: make([]AuditEntry, 0, len(entries)), NextAfter: after}
	for _, e := range entries {
		out.Entries = append(out.Entries, AuditEntry(e))
		out.NextAfter = e.ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
