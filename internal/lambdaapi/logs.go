package lambdaapi

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/logs"
)

// LogsPath is Bulkhead's own log query API (not Lambda's: Lambda's logs are
// in CloudWatch). GET with the query parameters of queryLogs.
const LogsPath = "/bulkhead/v1/logs"

// LogRecord is one record on the wire.
type LogRecord struct {
	ID            int64
	Time          time.Time
	TenantID      string `json:",omitempty"`
	FunctionName  string
	Version       string
	RequestID     string `json:",omitempty"`
	EnvironmentID string
	Type          string
	Stream        string `json:",omitempty"`
	Message       string
}

// QueryLogsOutput is the answer: records oldest first, and the ID to pass
// as after= to get the next ones (the last record's, or the after= given
// when there were none).
type QueryLogsOutput struct {
	Records   []LogRecord
	NextAfter int64
}

// queryLogs answers GET /bulkhead/v1/logs?function=F[&tenant=T]
// [&requestId=R][&since=S][&until=U][&text=X][&after=N][&limit=N]. since and
// until are RFC 3339 times or durations back from now ("10m"); tenant,
// present even empty, selects exactly that tenant.
func (a *API) queryLogs(w http.ResponseWriter, r *http.Request, _ []byte) error {
	if a.logs == nil {
		return errdefs.New(errdefs.ErrNotFound, "Logs are not kept by this server.")
	}
	v := r.URL.Query()
	q := logs.Query{Function: v.Get("function"), RequestID: v.Get("requestId"), Text: v.Get("text")}
	if q.Function == "" {
		return errdefs.New(errdefs.ErrInvalidArgument, "function: the name of the function whose logs to query is required.")
	}
	if _, ok := v["tenant"]; ok {
		q.Tenant, q.TenantSet = v.Get("tenant"), true
	}
	now := time.Now()
	var err error
	if q.Since, err = when(v.Get("since"), "since", now); err != nil {
		return err
	}
	if q.Until, err = when(v.Get("until"), "until", now); err != nil {
		return err
	}
	if q.AfterID, err = afterParam(v); err != nil {
		return err
	}
	if q.Limit, err = limitParam(v, 0, logs.MaxLimit); err != nil {
		return err
	}
	records, err := a.logs.Query(r.Context(), q)
	if err != nil {
		return err
	}
	out := QueryLogsOutput{Records: make([]LogRecord, 0, len(records)), NextAfter: q.AfterID}
	for _, rec := range records {
		out.Records = append(out.Records, LogRecord{
			ID: rec.ID, Time: rec.Time.UTC(), TenantID: rec.Tenant, FunctionName: rec.Function, Version: rec.Version,
			RequestID: rec.RequestID, EnvironmentID: rec.EnvID, Type: rec.Type, Stream: rec.Stream, Message: rec.Message,
		})
		out.NextAfter = rec.ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// afterParam parses the after= of a paged query: a record ID, 0 if absent.
func afterParam(v url.Values) (int64, error) {
	s := v.Get("after")
	if s == "" {
		return 0, nil
	}
	after, err := strconv.ParseInt(s, 10, 64)
	if err != nil || after < 0 {
		return 0, errdefs.New(errdefs.ErrInvalidArgument, "after: %q is not a record ID.", s)
	}
	return after, nil
}

// limitParam parses limit=, from 1 to max; def if absent.
func limitParam(v url.Values, def, max int) (int, error) {
	s := v.Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, errdefs.New(errdefs.ErrInvalidArgument, "limit: %q is not a number from 1 to %d.", s, max)
	}
	return n, nil
}

// when parses a time bound: RFC 3339, or a duration back from now.
func when(s, name string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errdefs.New(errdefs.ErrInvalidArgument, "%s: %q is neither an RFC 3339 time nor a duration such as 10m.", name, s)
	}
	return t, nil
}
