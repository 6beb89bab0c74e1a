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
// the number of tenants or environments.
//
// Concurrency: one mutex, mu, guards every map, list and count. The factory
// and Env.Destroy run outside it. Goroutines: one watcher per live
// environment (ends when it dies or is destroyed), one reaper and blank
// refills, all ended by Close.
package pool
