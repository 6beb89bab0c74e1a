// Package pool keeps execution environments by key and hands them out for
// invocations. It owns invariant 1 of ARCHITECTURE.md: an environment serves
// one (function, version, tenant) from its first invocation until it is
// destroyed.
//
// Keys and lists:
//
//	Version{Function, Number, Revision}      blanks[Version]: initialised, no tenant yet
//	Key{Version, Tenant}                      idle[Key]: warm, that tenant's only (LIFO)
//	                                          lru: every idle or blank env, oldest first
//
// An environment's life in the pool:
//
//	          factory            claim (first tenant, forever)
//	starting ───────► blank ──────────────────────┐
//	    │                                         ▼
//	    └──────── (cold start for a key) ──────► busy ◄──── acquire ──── idle
//	                                              │  release(healthy) ──►  │
//	                                              │                        │
//	      release(unhealthy), retired, died ──────┴──► destroyed ◄── reaped, evicted,
//	                                                                  retired, died
//
// A blank is never a tenant's until claimed, and a claimed environment never
// returns to the blanks. Acquire, Release, claim, eviction and reaping touch
// only the key's list and the ends of the LRU: their cost does not grow with
// the number of tenants or environments. Handing freed capacity to waiters
// walks past the queues that cannot be admitted and stops at once when the
// total limit is reached.
//
// Admission. One more invocation of a key is admitted when MaxConcurrency,
// MaxPerFunction, its tenant's limit (Config.TenantLimit, else MaxPerTenant)
// and memory allow it; memory is free memory plus what idle and blank
// environments hold, as they can be evicted. Refused by a shared limit (the
// total, the function's, memory), it waits up to Config.MaxWait in its
// queue; refused by its tenant's limit, it fails at once, since only its own
// tenant's releases could admit it. A tenant's waiting invocations count
// against its limit, so no queue is ever longer than that limit allows.
//
//	turns:  queue(f, "a") ─► queue(g, -) ─► queue(f, "b")    one grant a turn, round robin;
//	          w1 → w2 → w3     w1             w1              a served queue goes to the back
//	        (first in, first out within a queue)
//
// There is one queue per (function, tenant), the unit the tenant limit
// counts: a tenant id is only meaningful within its function, and the zero
// tenant of every function without tenancy config must not share one queue.
// Every invocation costs one turn whatever its memory, as the concurrency
// limits count invocations. Freed capacity (a release, a death, a reap, a
// retirement, a blank started or failed, a waiter gone) is handed by the
// goroutine that freed it, under the lock, straight to the waiters: first
// queue in turn whose first waiter can be admitted, which may evict another
// key's idle environment to make room. A new acquisition joins its queue when
// that queue is not empty; otherwise, if it can be admitted it is, which takes
// nothing from a waiter: after every hand-out no waiter can be admitted.
// Memory goes to whoever fits, so while memory is scarce a large function's
// waiter can be passed over by smaller ones; MaxWait bounds its wait.
//
// Concurrency: one mutex, mu, guards every map, list, queue and count. The
// factory, Env.Destroy and Config.TenantLimit run outside it. Goroutines: one
// watcher per live environment (ends when it dies or is destroyed), one
// reaper and blank refills, all ended by Close. A waiter is its caller's
// goroutine; Close fails every waiter.
package pool
