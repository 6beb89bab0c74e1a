// Package metrics counts what the platform does and writes it in the
// Prometheus text exposition format (version 0.0.4), by hand: a few
// counters and histograms need no client library.
//
// Series are per function. Per-tenant series are bounded by design: only
// the tenants an operator names (Options.Tenants) get series of their own;
// every other tenant's figures are summed under tenant="other". With 100,000
// tenants the exposition therefore holds at most (named tenants + 1) series
// per function and metric. Exact figures for every tenant, at any
// cardinality, are in the usage store (internal/usage).
package metrics

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// OtherTenant is the tenant label of every tenant not named in Options.
const OtherTenant = "other"

// Options configure a Registry.
type Options struct {
	// Tenants get series of their own; everyone else is OtherTenant.
	Tenants []string
}

// Registry holds the platform's metrics. Its methods are safe for
// concurrent use.
type Registry struct {
	tenants map[string]bool

	mu          sync.Mutex
	invocations map[[3]string]float64 // function, tenant, outcome
	throttles   map[[2]string]float64 // function, tenant
	coldStarts  map[[2]string]float64 // function, tenant
	duration    map[string]*histogram // function
	initDur     map[string]*histogram // function
	gateway     map[[3]string]float64 // route, tenant, answer
	gauges      map[string]func() map[string]float64
}

// Buckets of the duration histograms, in seconds.
var buckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900}

type histogram struct {
	counts []uint64 // per bucket, not cumulative
	sum    float64
	count  uint64
}

func (h *histogram) observe(v float64) {
	i, _ := slices.BinarySearch(buckets, v)
	if i < len(buckets) {
		h.counts[i]++
	}
	h.sum += v
	h.count++
}

// New returns an empty Registry.
func New(opts Options) *Registry {
	r := &Registry{
		tenants:     map[string]bool{},
		invocations: map[[3]string]float64{},
		throttles:   map[[2]string]float64{},
		coldStarts:  map[[2]string]float64{},
		duration:    map[string]*histogram{},
		initDur:     map[string]*histogram{},
		gateway:     map[[3]string]float64{},
		gauges:      map[string]func() map[string]float64{},
	}
	for _, t := range opts.Tenants {
		r.tenants[t] = true
	}
	return r
}

// tenant maps a tenant to its label.
func (r *Registry) tenant(t string) string {
	if r.tenants[t] {
		return t
	}
	return OtherTenant
}

// Invocation counts a finished invocation: outcome is "success", "error"
// (a function error) or "crash" (timeout, exit, out of memory); cold when it
// waited for an environment's init.
func (r *Registry) Invocation(function, tenant, outcome string, d time.Duration, cold bool) {
	t := r.tenant(tenant)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.invocations[[3]string{function, t, outcome}]++
	if cold {
		r.coldStarts[[2]string{function, t}]++
	}
	h := r.duration[function]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(buckets))}
		r.duration[function] = h
	}
	h.observe(d.Seconds())
}

// GatewayRequest counts a request the gateway answered: route is the
// matched route ("METHOD /path", or "-" for none), answer "integrated" when
// the function answered, else API Gateway's response type (THROTTLED,
// QUOTA_EXCEEDED, UNAUTHORIZED, ...). Routes are the operator's, so bounded.
func (r *Registry) GatewayRequest(route, tenant, answer string) {
	t := r.tenant(tenant)
	r.mu.Lock()
	r.gateway[[3]string{route, t, answer}]++
	r.mu.Unlock()
}

// Throttle counts an invocation refused for a limit.
func (r *Registry) Throttle(function, tenant string) {
	t := r.tenant(tenant)
	r.mu.Lock()
	r.throttles[[2]string{function, t}]++
	r.mu.Unlock()
}

// Init observes an environment's init duration.
func (r *Registry) Init(function string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.initDur[function]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(buckets))}
		r.initDur[function] = h
	}
	h.observe(d.Seconds())
}

// Gauge registers a gauge read at each exposition: f returns the value per
// value of the label label ("" for a gauge without labels: key "").
func (r *Registry) Gauge(name, help, label string, f func() map[string]float64) {
	r.mu.Lock()
	r.gauges[name+"\x00"+help+"\x00"+label] = f
	r.mu.Unlock()
}

// WriteTo writes the exposition.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	r.mu.Lock()
	counter := func(name, help string, series map[string]float64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name)
		for _, labels := range slices.Sorted(maps.Keys(series)) {
			fmt.Fprintf(&b, "%s{%s} %s\n", name, labels, number(series[labels]))
		}
	}
	inv := map[string]float64{}
	for k, v := range r.invocations {
		inv[labels("function", k[0], "tenant", k[1], "outcome", k[2])] = v
	}
	counter("bulkhead_invocations_total", "Invocations that ran, by function, tenant (named ones, else other) and outcome.", inv)
	thr := map[string]float64{}
	for k, v := range r.throttles {
		thr[labels("function", k[0], "tenant", k[1])] = v
	}
	counter("bulkhead_throttles_total", "Invocations refused for a concurrency limit or the memory budget.", thr)
	cold := map[string]float64{}
	for k, v := range r.coldStarts {
		cold[labels("function", k[0], "tenant", k[1])] = v
	}
	counter("bulkhead_cold_starts_total", "Invocations that waited for an environment's init.", cold)
	gw := map[string]float64{}
	for k, v := range r.gateway {
		gw[labels("route", k[0], "tenant", k[1], "answer", k[2])] = v
	}
	counter("bulkhead_gateway_requests_total", "Gateway requests by route, tenant (named ones, else other) and answer (integrated, or the refusal's type).", gw)
	hist := func(name, help string, hs map[string]*histogram) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
		for _, fn := range slices.Sorted(maps.Keys(hs)) {
			h := hs[fn]
			var cum uint64
			for i, ub := range buckets {
				cum += h.counts[i]
				fmt.Fprintf(&b, "%s_bucket{%s} %d\n", name, labels("function", fn, "le", number(ub)), cum)
			}
			fmt.Fprintf(&b, "%s_bucket{%s} %d\n", name, labels("function", fn, "le", "+Inf"), h.count)
			fmt.Fprintf(&b, "%s_sum{%s} %s\n", name, labels("function", fn), number(h.sum))
			fmt.Fprintf(&b, "%s_count{%s} %d\n", name, labels("function", fn), h.count)
		}
	}
	hist("bulkhead_invocation_duration_seconds", "Invocation duration, from the runtime's /next to its answer.", r.duration)
	hist("bulkhead_init_duration_seconds", "Environment init duration, from sandbox start to the runtime's first /next.", r.initDur)
	gauges := make(map[string]func() map[string]float64, len(r.gauges))
	for k, f := range r.gauges {
		gauges[k] = f
	}
	r.mu.Unlock()
	for _, k := range slices.Sorted(maps.Keys(gauges)) {
		parts := strings.SplitN(k, "\x00", 3)
		name, help, label := parts[0], parts[1], parts[2]
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
		values := gauges[k]()
		for _, v := range slices.Sorted(maps.Keys(values)) {
			if label == "" {
				fmt.Fprintf(&b, "%s %s\n", name, number(values[v]))
				continue
			}
			fmt.Fprintf(&b, "%s{%s} %s\n", name, labels(label, v), number(values[v]))
		}
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// labelEscaper escapes a label value as the text format requires.
var labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)

// labels renders name="value" pairs, escaped as the format requires.
func labels(kv ...string) string {
	var b strings.Builder
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i])
		b.WriteString(`="`)
		b.WriteString(labelEscaper.Replace(kv[i+1]))
		b.WriteByte('"')
	}
	return b.String()
}

func number(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
