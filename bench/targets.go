package main

import (
	"fmt"
	"strings"
)

// measured are the figures issue 7's targets are judged by, as the
// scenarios leave them; nil or zero when a scenario did not run.
type measured struct {
	ExecFloor, LoopFloor *Summary
	ColdNoBlank          *Summary // at the first --cold-memory size
	ColdBlank            *Summary
	Warm, WarmNoSync     *Summary
	WarmBackToBack       *Summary                   // closed loop at concurrency 1, usage durable
	BestThroughput       map[string]throughputPoint // by usage variant
	DensityHeld          int
	DensityPerEnvMiB     float64
	DensityStop          string
	RoutingFirst         *Summary
	RoutingLast          *Summary
	RoutingFirstLive     int
	RoutingLastLive      int
	Churn                *Summary
	ChurnTenants         int
	ChurnRate            float64
}

// The targets, from issue 7.
const (
	targetBlankP50      = 1.0  // ms, new tenant with a blank
	targetNoBlankP50    = 20.0 // ms, new tenant without
	targetRIEP50        = 0.71 // ms, the Runtime Interface Emulator's warm invoke
	targetRIEP99        = 2.4
	targetThroughput    = 10000 // invocations per second on 2 cores
	targetEnvs          = 5000  // idle warm environments...
	targetEnvsMemoryGiB = 24    // ...within this much memory
	targetRoutingSlack  = 0.10  // warm latency at 10,000 live within 10% of at 10
	targetRoutingLive   = 10000
)

// targets judges the run against issue 7's targets, saying how far each is
// and what the scenario found limiting it.
func (b *bench) targets() []target {
	m := b.measured
	var out []target
	notMeasured := func(t string) { out = append(out, target{Target: t, Measured: "—", Status: "not measured"}) }
	ratio := func(got, want float64) string {
		if got <= want {
			return fmt.Sprintf("within: %.2f of the target", got/want)
		}
		return fmt.Sprintf("%.1f× the target", got/want)
	}
	status := func(ok bool) string {
		if b.cfg.Quick {
			return "quick run: not judged"
		}
		if ok {
			return "met"
		}
		return "not met"
	}
	coldMB := b.cfg.ColdMemory[0]

	t := fmt.Sprintf("New tenant's first response with a blank, p50 ≤ %.0f ms", targetBlankP50)
	if s := m.ColdBlank; s != nil && s.N > 0 {
		gap := ratio(s.P50, targetBlankP50) + "; a claimed blank still runs the handler's first invocation (cold code paths"
		if coldMB < 1769 {
			gap += fmt.Sprintf(", under a %d MB function's CPU quota", coldMB)
		}
		gap += ") and the invoke path with durable usage"
		if m.Warm != nil {
			gap += fmt.Sprintf(" (warm p50 here: %.2f ms)", m.Warm.P50)
		}
		out = append(out, target{t, fmt.Sprintf("p50 %.2f ms, p99 %.2f ms (%d MB)", s.P50, s.P99, coldMB), status(s.P50 <= targetBlankP50), gap})
	} else {
		notMeasured(t)
	}

	t = fmt.Sprintf("New tenant's first response without blanks, p50 ≤ %.0f ms", targetNoBlankP50)
	if s := m.ColdNoBlank; s != nil && s.N > 0 {
		gap := ratio(s.P50, targetNoBlankP50)
		if m.ExecFloor != nil && m.ExecFloor.N > 0 {
			gap += fmt.Sprintf("; the handler's own start to first poll, no sandbox, is %.1f ms p50 here", m.ExecFloor.P50)
		}
		if b.isolation == "linux" {
			gap += "; the sandbox's start (clone into namespaces, re-exec of the server as init, root, cgroups) is the rest"
		}
		out = append(out, target{t, fmt.Sprintf("p50 %.1f ms, p99 %.1f ms (%d MB)", s.P50, s.P99, coldMB), status(s.P50 <= targetNoBlankP50), gap})
	} else {
		notMeasured(t)
	}

	t = fmt.Sprintf("Warm invoke no slower than the Runtime Interface Emulator (%.2f ms p50 / %.1f ms p99)", targetRIEP50, targetRIEP99)
	if s := m.Warm; s != nil && s.N > 0 {
		measuredText := fmt.Sprintf("p50 %.2f / p99 %.2f ms (usage durable)", s.P50, s.P99)
		gap := fmt.Sprintf("p50 %s, p99 %s", ratio(s.P50, targetRIEP50), ratio(s.P99, targetRIEP99))
		ok := s.P50 <= targetRIEP50 && s.P99 <= targetRIEP99
		if n := m.WarmNoSync; n != nil && n.N > 0 {
			measuredText += fmt.Sprintf("; p50 %.2f / p99 %.2f ms with --no-usage-sync", n.P50, n.P99)
			gap += fmt.Sprintf("; without the per-invocation fsync p50 %s", ratio(n.P50, targetRIEP50))
		}
		if c := m.WarmBackToBack; c != nil && c.N > 0 {
			measuredText += fmt.Sprintf("; back to back (closed loop, c=1) p50 %.2f / p99 %.2f ms", c.P50, c.P99)
		}
		if f := m.LoopFloor; f != nil && f.N > 0 {
			gap += fmt.Sprintf("; a bare loopback round trip at the same rate is %.2f ms p50 here (waking an idle VM's threads costs: back to back is faster)", f.P50)
		}
		gap += "; the Emulator has no authentication, tenancy, metering, logs or sandbox"
		out = append(out, target{t, measuredText, status(ok), gap})
	} else {
		notMeasured(t)
	}

	t = fmt.Sprintf("≥ %d invocations per second on 2 cores", targetThroughput)
	if len(m.BestThroughput) > 0 {
		var parts []string
		best := 0.0
		for _, v := range usageVariants {
			if p, ok := m.BestThroughput[v.Name]; ok {
				parts = append(parts, fmt.Sprintf("%.0f/s at c=%d (%s)", p.PerSecond, p.Concurrency, v.Name))
				best = max(best, p.PerSecond)
			}
		}
		gap := fmt.Sprintf("%.1f%% of the target", 100*best/targetThroughput)
		for _, v := range usageVariants {
			if p, ok := m.BestThroughput[v.Name]; ok && p.ServerCPU > 0 {
				gap += fmt.Sprintf("; CPU per invocation at that level (%s): server %.2f ms, environment %.2f ms, load generator %.2f ms — %.2f ms in all would do",
					v.Name, p.ServerCPU, p.FunctionCPU, p.GeneratorCPU, float64(max(1, b.report.Machine.Cores))*1000/targetThroughput)
				break
			}
		}
		if b.report != nil && b.report.Machine.Cores != 2 {
			gap += fmt.Sprintf(" (this machine has %d cores)", b.report.Machine.Cores)
		}
		out = append(out, target{t, strings.Join(parts, "; "), status(best >= targetThroughput), gap})
	} else {
		notMeasured(t)
	}

	t = fmt.Sprintf("≥ %d idle warm environments within %d GiB", targetEnvs, targetEnvsMemoryGiB)
	if m.DensityHeld > 0 {
		fits := 0
		if m.DensityPerEnvMiB > 0 {
			fits = int(targetEnvsMemoryGiB * 1024 / m.DensityPerEnvMiB)
		}
		measuredText := fmt.Sprintf("%d held; %.2f MiB each (environment + server share), so %d would fit in %d GiB",
			m.DensityHeld, m.DensityPerEnvMiB, fits, targetEnvsMemoryGiB)
		gap := fmt.Sprintf("by memory %s; creation stopped at %d: %s; the memory budget counts MemorySize, so a %d GiB budget admits only %d environments of 128 MB",
			ratioAtLeast(float64(fits), targetEnvs), m.DensityHeld, m.DensityStop, targetEnvsMemoryGiB, targetEnvsMemoryGiB*1024/128)
		out = append(out, target{t, measuredText, status(fits >= targetEnvs && m.DensityHeld >= targetEnvs), gap})
	} else {
		notMeasured(t)
	}

	t = fmt.Sprintf("Warm latency at %d live environments within %.0f%% of that at 10", targetRoutingLive, targetRoutingSlack*100)
	if f, l := m.RoutingFirst, m.RoutingLast; f != nil && l != nil && f.P50 > 0 && m.RoutingLastLive > m.RoutingFirstLive {
		change := l.P50/f.P50 - 1
		measuredText := fmt.Sprintf("p50 %.2f ms at %d, %.2f ms at %d (%+.0f%%); p99 %.2f → %.2f ms",
			f.P50, m.RoutingFirstLive, l.P50, m.RoutingLastLive, change*100, f.P99, l.P99)
		gap := fmt.Sprintf("p50 change %+.0f%% against ±%.0f%% allowed", change*100, targetRoutingSlack*100)
		ok := change <= targetRoutingSlack && m.RoutingLastLive >= targetRoutingLive
		if m.RoutingLastLive < targetRoutingLive {
			gap += fmt.Sprintf("; only %d live environments reached (%s), so not judged at %d", m.RoutingLastLive, m.DensityStop, targetRoutingLive)
		}
		out = append(out, target{t, measuredText, status(ok), gap})
	} else {
		notMeasured(t)
	}

	t = "0 errors in churn (10,000 tenants)"
	if s := m.Churn; s != nil {
		gap := fmt.Sprintf("%d errors", s.Errors)
		if n := s.Kinds["TooManyRequestsException"]; n > 0 && n == s.Errors {
			gap += fmt.Sprintf(", all refused for capacity after --max-wait (1 s): the open loop at %.0f/s outran what the machine sustained then, "+
				"each new tenant being a sandbox start; none was a wrong or reused environment", m.ChurnRate)
		} else if s.Errors > 0 {
			gap += fmt.Sprintf(" (%v)", s.Kinds)
		}
		if m.ChurnTenants < 10000 {
			gap += fmt.Sprintf("; only %d tenants in this run", m.ChurnTenants)
		}
		out = append(out, target{t, fmt.Sprintf("%d tenants at %.1f/s, %d errors; first response p50 %.1f ms, p99 %.1f ms", m.ChurnTenants, m.ChurnRate, s.Errors, s.P50, s.P99),
			status(s.Errors == 0 && m.ChurnTenants >= 10000), gap})
	} else {
		notMeasured(t)
	}
	return out
}

func ratioAtLeast(got, want float64) string {
	if got >= want {
		return fmt.Sprintf("%.1f× the target", got/want)
	}
	return fmt.Sprintf("%.0f%% of the target", 100*got/want)
}
