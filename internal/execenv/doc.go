// Package execenv is one execution environment: a sandbox running a
// function's runtime, the Runtime API that runtime talks to, and the
// environment's output. It owns the environment's lifecycle; the pool owns
// which tenant it serves (it knows none).
//
//	Start ──init ok──► ready ◄──────────────┐
//	  │                  │ Invoke           │ result (healthy)
//	  │                  ▼                  │
//	  │               invoking ─────────────┘
//	  │                  │ timeout, process exit, protocol breach
//	  ▼                  ▼
//	init failed ───► dead ◄── Destroy (any state), process exit
//
// A dead environment is never invoked again: Invoke on it fails, and its
// Done channel is closed so the pool drops it.
package execenv
