package lambdaapi

import (
	"net/http"
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
	for name, dst := range map[string]*int64{"after": &q.AfterID} {
		if s := v.Get(name); s != "" {
			if *dst, err = strconv.ParseInt(s, 10, 64); err != nil || *dst < 0 {
				return errdefs.New(errdefs.ErrInvalidArgument, "%s: %q is not a record ID.", name, s)
			}
		}
	}
	if s := v.Get("limit"); s != "" {
		if q.Limit, err = strconv.Atoi(s); err != nil || q.Limit < 1 || q.Limit > logs.MaxLimit {
			return errdefs.New(errdefs.ErrInvalidArgument, "limit: %q is not a number from 1 to %d.", s, logs.MaxLimit)
		}
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
