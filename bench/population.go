package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gonum.org/v1/plot/plotter"
)

// densityPoint is the memory held with Live environments idle.
type densityPoint struct {
	Live            int     `json:"live_environments"`
	CgroupMiB       float64 `json:"cgroup_charged_mib"`
	ChildRSSMiB     float64 `json:"child_rss_mib"`
	ChildPSSMiB     float64 `json:"child_pss_mib"`
	ChildAnonMiB    float64 `json:"child_rss_anon_mib"`
	ServerRSSMiB    float64 `json:"server_rss_mib"`
	Threads         int     `json:"threads"`
	CreatePerSecond float64 `json:"environments_created_per_s"` // since the previous point
	Elapsed         float64 `json:"elapsed_s"`
}

// routingPoint is one tenant's warm latency with Live environments live.
type routingPoint struct {
	Live int     `json:"live_environments"`
	P50  float64 `json:"p50_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p99_9_ms"`
}

// Creating environments stops short of these fractions of the machine's
// process ids and the server's open-file limit: running out of either
// fails every fork on the machine or every accept in the server.
const guardFraction = 0.85

// population grows one server's idle environments, one new tenant each,
// measuring memory along the way (density) and one tenant's warm latency
// at the counts in RoutingAt (routing). It stops at Envs, at
// PopulationTime, at the memory budget, or at a guard.
func (b *bench) population(ctx context.Context) []*section {
	cfg := b.cfg
	density := &section{ID: "density", Title: "Density: idle warm environments and their memory"}
	routing := &section{ID: "routing", Title: "Routing cost: one tenant's warm latency against live environments"}
	budget := cfg.DensityBudgetMB
	if budget == 0 {
		budget = (cfg.Envs + 2) * 128
	}
	// The probe's environments come on top, so they take nothing from the
	// density budget.
	probeBudget := warmEnvironments * cfg.WarmMemory
	density.Conditions = []string{
		fmt.Sprintf("Function `bench/functions/noop`, per tenant, MemorySize 128 MB. One server, `--blanks 0`, `--memory-budget-mb %d` "+
			"(%d for these environments, %d for the routing probe's), usage durable. Each new environment is a new tenant's first invocation, "+
			"two at a time; it then stays idle (idle timeout 1 h).", budget+probeBudget, budget, probeBudget),
		fmt.Sprintf("Stops at the first of: %d live environments, %s of creating, the memory budget (the first eviction), "+
			"%.0f%% of kernel.pid_max in use (each environment's Go runtime holds ~5 threads, each a pid) or of the server's open-file limit.",
			cfg.Envs, cfg.PopulationTime, guardFraction*100),
		"Memory, at each count (after 300 ms idle): the sum over the server's child processes of VmRSS, RssAnon (private heap and stacks) and Pss " +
			"(shared pages such as the handler's binary divided among the processes mapping them) from /proc; in the Linux sandbox also the sum of " +
			"the environments' memory cgroups' charge (memory.usage_in_bytes on cgroup v1, memory.current on v2: every page charged, kernel memory and /tmp included); " +
			"and the server's own RSS. Per environment: the increase between the first and last counts divided by the environments added.",
	}
	routing.Conditions = []string{
		fmt.Sprintf("The density scenario's server. A second function, `probe` (the no-op at %d MB, so no small CPU quota throttles it), "+
			"is invoked warm as one tenant: open loop, %d invocations at %.0f/s, at each of %v live environments (and at the count creation stopped at). "+
			"The probe holds %d warm environments, made first as in the warm scenario; they count among the live ones.",
			cfg.WarmMemory, cfg.RoutingSamples, cfg.RoutingRate, cfg.RoutingAt, warmEnvironments),
	}
	var points []densityPoint
	var routes []routingPoint
	stopReason := ""
	err := b.withServer(ctx, serverOptions{Blanks: 0, MemoryBudgetMB: budget + probeBudget, UsageSync: true}, func(s *server, c *client) error {
		if err := c.createFunction(ctx, function{Name: "idle", Binary: b.bin.Noop, MemorySize: 128}); err != nil {
			return err
		}
		if err := c.createFunction(ctx, function{Name: "probe", Binary: b.bin.Noop, MemorySize: cfg.WarmMemory}); err != nil {
			return err
		}
		probe := func(ctx context.Context, _ int) error {
			_, err := c.invoke(ctx, "probe", "probe", []byte("{}"))
			return err
		}
		if err := warmUp(ctx, probe); err != nil {
			return fmt.Errorf("probe: %w", err)
		}
		guard := newGuard(s.pid())
		gctx, stopGuard := context.WithCancel(ctx)
		defer stopGuard()
		go guard.watch(gctx) // ends with stopGuard

		live := 0
		if m, err := c.metrics(ctx, s.metrics); err == nil {
			live = int(m[`bulkhead_environments{state="idle"}`]) // the probe's
		}
		var tenants atomic.Int64
		started := time.Now()
		lastAt, lastLive := started, live
		creationErrors := map[string]int{}
		// record measures memory with live environments, and the probe's
		// latency when live is a routing count or the last.
		record := func(last bool) error {
			if len(points) > 0 && points[len(points)-1].Live == live {
				return nil // stopped where the last count was measured
			}
			sleep(ctx, 300*time.Millisecond)
			mem, err := measureMemory(s.pid(), s.dataDir)
			if err != nil {
				return err
			}
			p := densityPoint{
				Live: live, CgroupMiB: mib(mem.CgroupCharged), ChildRSSMiB: mib(mem.ChildRSS), ChildPSSMiB: mib(mem.ChildPSS),
				ChildAnonMiB: mib(mem.ChildRSSAnon), ServerRSSMiB: mib(mem.ServerRSS), Threads: mem.Threads,
				CreatePerSecond: round3(float64(live-lastLive) / time.Since(lastAt).Seconds()), Elapsed: round3(time.Since(started).Seconds()),
			}
			points = append(points, p)
			b.log.Info("density", "live", live, "cgroup_mib", p.CgroupMiB, "rss_mib", p.ChildRSSMiB, "threads", p.Threads, "created_per_s", p.CreatePerSecond)
			if slices.Contains(cfg.RoutingAt, live) || last {
				name := fmt.Sprintf("%d live environments", live)
				b.log.Info("routing: "+name, "n", cfg.RoutingSamples, "rate", cfg.RoutingRate)
				set := summarize(name, openLoop(ctx, cfg.RoutingRate, cfg.RoutingSamples, probe))
				set.OfferedRate = cfg.RoutingRate
				routing.Sets = append(routing.Sets, set)
				routes = append(routes, routingPoint{Live: live, P50: set.P50, P99: set.P99, P999: set.P999})
			}
			lastAt, lastLive = time.Now(), live
			return ctx.Err()
		}
		if err := record(false); err != nil { // the baseline: the probe's environments only
			return err
		}
		for _, milestone := range milestones(cfg.Envs, cfg.RoutingAt) {
			if milestone <= live {
				continue
			}
			reached, reason, err := b.grow(ctx, c, &tenants, live, milestone, started.Add(cfg.PopulationTime), guard, creationErrors)
			live = reached
			if err != nil {
				return err
			}
			stopReason = reason
			if stopReason == "" {
				m, err := c.metrics(ctx, s.metrics)
				if err != nil {
					return err
				}
				if m["bulkhead_evictions"] > 0 {
					live = int(m[`bulkhead_environments{state="idle"}`])
					stopReason = fmt.Sprintf("the memory budget (%d MB): the server began evicting", budget)
				}
			}
			if err := record(stopReason != "" || live >= cfg.Envs); err != nil {
				return err
			}
			if stopReason != "" {
				break
			}
		}
		if stopReason == "" {
			stopReason = fmt.Sprintf("the cap, --envs %d", cfg.Envs)
		}
		for kind, n := range creationErrors {
			density.note("Creating environments: %d × %s.", n, kind)
		}
		b.log.Info("density: stopping the server", "live", live)
		return nil
	})
	if err != nil {
		return failed(err, wanted(cfg, density, routing)...)
	}
	density.Data, routing.Data = points, routes
	if len(points) > 0 {
		b.densityFigures(density, points, stopReason)
	}
	if len(routes) > 0 {
		first, last := routing.Sets[0], routing.Sets[len(routing.Sets)-1]
		b.measured.RoutingFirst, b.measured.RoutingLast = &first, &last
		b.measured.RoutingFirstLive, b.measured.RoutingLastLive = routes[0].Live, routes[len(routes)-1].Live
		if first.P50 > 0 {
			routing.figure(fmt.Sprintf("p50 at %d over p50 at %d live environments", routes[len(routes)-1].Live, routes[0].Live), round3(last.P50/first.P50), "×")
			routing.figure(fmt.Sprintf("p99 at %d over p99 at %d live environments", routes[len(routes)-1].Live, routes[0].Live), round3(last.P99/first.P99), "×")
		}
	}
	if err := b.populationPlots(density, routing, points, routes); err != nil {
		return failed(err, wanted(cfg, density, routing)...)
	}
	return wanted(cfg, density, routing)
}

// grow creates environments (new tenants of the function idle, numbered
// from tenants) until live reaches target, two at a time, and returns the
// count reached and, when it stopped short, why.
func (b *bench) grow(ctx context.Context, c *client, tenants *atomic.Int64, live, target int, deadline time.Time, g *guard, errs map[string]int) (int, string, error) {
	var claimed, created, failures atomic.Int64 // claimed: creations started or done, failed ones given back
	var mu sync.Mutex                           // guards reason and errs
	reason := ""
	stop := func(why string) {
		mu.Lock()
		if reason == "" {
			reason = why
		}
		mu.Unlock()
	}
	stopped := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return reason != ""
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stopped() && ctx.Err() == nil {
				if time.Now().After(deadline) {
					stop(fmt.Sprintf("the time limit, --population-time %s", b.cfg.PopulationTime))
					return
				}
				if why := g.exceeded(); why != "" {
					stop(why)
					return
				}
				if claimed.Add(1) > int64(target-live) {
					return
				}
				tenant := fmt.Sprintf("t-%06d", tenants.Add(1))
				if _, err := c.invoke(ctx, "idle", tenant, []byte("{}")); err != nil {
					claimed.Add(-1)
					mu.Lock()
					errs[errorKind(err)]++
					mu.Unlock()
					if failures.Add(1) >= 10 {
						stop("errors: " + err.Error())
					}
					continue
				}
				if n := live + int(created.Add(1)); n%100 == 0 {
					b.log.Info("density: creating", "live", n)
				}
			}
		}()
	}
	wg.Wait()
	return live + int(created.Load()), reason, ctx.Err()
}

// milestones are the live-environment counts the population is measured
// at: the routing counts, a 1-2-5 series, every 1,000 above 1,000, and the
// cap, none above it.
func milestones(envs int, routingAt []int) []int {
	set := map[int]bool{envs: true}
	for _, n := range routingAt {
		if n <= envs {
			set[n] = true
		}
	}
	for decade := 1; decade <= envs; decade *= 10 {
		for _, m := range []int{1, 2, 5} {
			if n := m * decade; n <= envs && n <= 1000 && n > 1 {
				set[n] = true
			}
		}
	}
	for n := 2000; n <= envs; n += 1000 {
		set[n] = true
	}
	return slices.Sorted(func(yield func(int) bool) {
		for n := range set {
			if !yield(n) {
				return
			}
		}
	})
}

// densityFigures derives the per-environment costs from the memory points.
func (b *bench) densityFigures(sec *section, points []densityPoint, stopReason string) {
	first, last := points[0], points[len(points)-1]
	sec.figure("idle environments held", float64(last.Live), "")
	sec.note("Creation stopped at %d live environments: %s.", last.Live, stopReason)
	d := float64(last.Live - first.Live)
	if d <= 0 {
		return
	}
	per := func(a, z float64) float64 { return round3((z - a) / d) }
	cg := per(first.CgroupMiB, last.CgroupMiB)
	srv := per(first.ServerRSSMiB, last.ServerRSSMiB)
	if b.isolation == "linux" {
		sec.figure("memory charged to an idle environment's cgroup", cg, "MiB")
	}
	sec.figure("RSS of an idle environment's process (shared binary pages counted in full)", per(first.ChildRSSMiB, last.ChildRSSMiB), "MiB")
	sec.figure("PSS of an idle environment's process", per(first.ChildPSSMiB, last.ChildPSSMiB), "MiB")
	sec.figure("private anonymous memory (RssAnon) of an idle environment's process", per(first.ChildAnonMiB, last.ChildAnonMiB), "MiB")
	sec.figure("server RSS per environment", srv, "MiB")
	sec.figure("threads per environment", per(float64(first.Threads), float64(last.Threads)), "")
	// Creation slows as the server grows (each sandbox start clones it):
	// the rate up to about 100 live environments, and over the last stretch.
	early := 1
	for early < len(points)-1 && points[early].Live < 100 {
		early++
	}
	rate := func(i int) float64 { // over the stretch ending at point i, measurements left out
		var created, secs float64
		for j := 1; j <= i; j++ {
			if points[j].CreatePerSecond > 0 {
				n := float64(points[j].Live - points[j-1].Live)
				created += n
				secs += n / points[j].CreatePerSecond
			}
		}
		if secs == 0 {
			return 0
		}
		return round3(created / secs)
	}
	sec.figure(fmt.Sprintf("environments created per second, up to %d live", points[early].Live), rate(early), "/s")
	sec.figure(fmt.Sprintf("environments created per second, from %d to %d live", points[len(points)-2].Live, last.Live), last.CreatePerSecond, "/s")
	perEnv := cg
	if b.isolation != "linux" || cg <= 0 {
		perEnv = per(first.ChildPSSMiB, last.ChildPSSMiB)
	}
	perEnv += srv
	b.measured.DensityHeld = last.Live
	b.measured.DensityPerEnvMiB = round3(perEnv)
	b.measured.DensityStop = stopReason
	if perEnv > 0 {
		sec.figure("idle environments 24 GiB would hold at that memory (environment + server share)", float64(int(24*1024/perEnv)), "")
	}
	budgetNote := "The memory budget counts each environment's MemorySize (128 MB here), not what it uses: a 24 GiB budget admits %d environments of 128 MB " +
		"however little each holds. Holding thousands takes a budget above RAM"
	if b.cfg.DensityBudgetMB == 0 {
		budgetNote += ", as this run's"
	}
	sec.note(budgetNote+".", 24*1024/128)
}

// populationPlots draws memory against live environments and the routing
// latencies.
func (b *bench) populationPlots(density, routing *section, points []densityPoint, routes []routingPoint) error {
	if len(points) > 0 {
		var cg, rss, pss, srv plotter.XYs
		for _, p := range points {
			x := float64(p.Live)
			cg = append(cg, plotter.XY{X: x, Y: p.CgroupMiB})
			rss = append(rss, plotter.XY{X: x, Y: p.ChildRSSMiB})
			pss = append(pss, plotter.XY{X: x, Y: p.ChildPSSMiB})
			srv = append(srv, plotter.XY{X: x, Y: p.ServerRSSMiB})
		}
		lines := []line{{Name: "environments' RSS (sum)", XY: rss}, {Name: "environments' PSS (sum)", XY: pss}, {Name: "server RSS", XY: srv}}
		if b.isolation == "linux" {
			lines = append([]line{{Name: "charged to environment cgroups (sum)", XY: cg}}, lines...)
		}
		if err := drawLines(b.out, "density.png", axes{Title: "Memory against live idle environments (128 MB no-op)", X: "live environments", Y: "MiB"}, lines); err != nil {
			return err
		}
		density.Plots = []string{"density.png"}
	}
	if len(routes) > 0 {
		var p50, p99, p999 plotter.XYs
		for _, r := range routes {
			x := float64(r.Live)
			p50 = append(p50, plotter.XY{X: x, Y: r.P50})
			p99 = append(p99, plotter.XY{X: x, Y: r.P99})
			p999 = append(p999, plotter.XY{X: x, Y: r.P999})
		}
		if err := drawLines(b.out, "routing.png", axes{Title: "One tenant's warm latency against live environments", X: "live environments (log scale)", Y: "latency (ms)", LogX: true},
			[]line{{Name: "p50", XY: p50}, {Name: "p99", XY: p99}, {Name: "p99.9", XY: p999}}); err != nil {
			return err
		}
		if err := drawCDFs(b.out, "routing-cdf.png", "One tenant's warm latency at each count", routing.Sets); err != nil {
			return err
		}
		routing.Plots = []string{"routing.png", "routing-cdf.png"}
	}
	return nil
}

func mib(bytes int64) float64 { return round3(float64(bytes) / (1 << 20)) }

// guard watches the machine's process ids and the server's descriptors
// while environments are created, so creation stops before either runs
// out.
type guard struct {
	server int
	reason atomic.Pointer[string]
}

func newGuard(serverPid int) *guard { return &guard{server: serverPid} }

// exceeded says why creation must stop, or "".
func (g *guard) exceeded() string {
	if r := g.reason.Load(); r != nil {
		return *r
	}
	return ""
}

// watch checks every 200 ms until ctx ends.
func (g *guard) watch(ctx context.Context) {
	pidMax, _ := strconv.Atoi(firstLine("/proc/sys/kernel/pid_max"))
	for ctx.Err() == nil {
		if why := g.check(pidMax); why != "" {
			g.reason.Store(&why)
			return
		}
		sleep(ctx, 200*time.Millisecond)
	}
}

func (g *guard) check(pidMax int) string {
	// /proc/loadavg's fourth field is running/total scheduling entities:
	// every thread on the machine, each holding a pid.
	if f := strings.Fields(firstLine("/proc/loadavg")); len(f) >= 4 && pidMax > 0 {
		if _, total, ok := strings.Cut(f[3], "/"); ok {
			if n, err := strconv.Atoi(total); err == nil && float64(n) > guardFraction*float64(pidMax) {
				return fmt.Sprintf("%d threads on the machine, %.0f%% of kernel.pid_max %d (each environment's Go runtime holds ~5; raise pid_max to go further)",
					n, guardFraction*100, pidMax)
			}
		}
	}
	dir := filepath.Join("/proc", strconv.Itoa(g.server))
	if fds, err := os.ReadDir(filepath.Join(dir, "fd")); err == nil {
		if f := strings.Fields(procField(filepath.Join(dir, "limits"), "Max open files")); len(f) > 0 {
			if limit, err := strconv.Atoi(f[0]); err == nil && float64(len(fds)) > guardFraction*float64(limit) {
				return fmt.Sprintf("the server holds %d descriptors, %.0f%% of its open-file limit %d", len(fds), guardFraction*100, limit)
			}
		}
	}
	return ""
}
