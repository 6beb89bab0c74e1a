package lambdaapi

import (
	"net/http"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/errdefs"
	"github.com/bulkhead-dev/bulkhead/internal/usage"
)

// UsagePath is Bulkhead's usage API: GET with function, tenant, from, to.
const UsagePath = "/bulkhead/v1/usage"

// UsageRow is one (tenant, function, hour) of usage on the wire, with its
// cost under the server's price model.
type UsageRow struct {
	TenantID     string    `json:",omitempty"`
	FunctionName string    `json:",omitempty"`
	Hour         time.Time `json:",omitzero"`
	Invocations  int64
	Errors       int64
	Throttles    int64
	GBSeconds    float64
	Environments int64
	ColdStarts   int64
	BytesIn      int64
	BytesOut     int64
	Cost         float64
}

// UsageOutput holds the rows, oldest hour first per function and tenant,
// and their total.
type UsageOutput struct {
	Rows  []UsageRow
	Total UsageRow
}

func wireUsage(r usage.Row, price usage.Price) UsageRow {
	return UsageRow{
		TenantID: r.Tenant, FunctionName: r.Function, Hour: r.Hour,
		Invocations: r.Invocations, Errors: r.Errors, Throttles: r.Throttles, GBSeconds: r.GBSeconds(),
		Environments: r.Environments, ColdStarts: r.ColdStarts, BytesIn: r.BytesIn, BytesOut: r.BytesOut,
		Cost: price.Cost(r.Counts),
	}
}

// queryUsage answers GET /bulkhead/v1/usage?[function=F][&tenant=T]
// [&from=S][&to=U]; from and to are RFC 3339 times or durations back from
// now, from defaulting to 24h.
func (a *API) queryUsage(w http.ResponseWriter, r *http.Request, _ []byte) error {
	if a.usage == nil {
		return errdefs.New(errdefs.ErrNotFound, "Usage is not metered by this server.")
	}
	v := r.URL.Query()
	f := usage.Filter{Function: v.Get("function")}
	if _, ok := v["tenant"]; ok {
		f.Tenant, f.TenantSet = v.Get("tenant"), true
	}
	now := time.Now()
	from := v.Get("from")
	if from == "" {
		from = "24h"
	}
	var err error
	if f.From, err = when(from, "from", now); err != nil {
		return err
	}
	if f.To, err = when(v.Get("to"), "to", now); err != nil {
		return err
	}
	rows, err := a.usage.Query(r.Context(), f)
	if err != nil {
		return err
	}
	out := UsageOutput{Rows: make([]UsageRow, 0, len(rows))}
	var total usage.Counts
	for _, row := range rows {
		out.Rows = append(out.Rows, wireUsage(row, a.price))
		total.Add(row.Counts)
	}
	out.Total = wireUsage(usage.Row{Counts: total}, a.price)
	if f.TenantSet {
		out.Total.TenantID = f.Tenant
	}
	out.Total.FunctionName = f.Function
	writeJSON(w, http.StatusOK, out)
	return nil
}
