// Package server is Bulkhead's one composition root: it turns a Config into
// running parts — the store, the code packages, the function registry, the
// Lambda API and the gateway listeners — and shuts them down in order.
//
// Lifecycle:
//
//	New ──► Serve(ctx) ──ctx done──► listeners closed ──► in-flight requests
//	                                  finish (ShutdownTimeout) ──► store closed
//
// It holds no domain logic; everything it wires is tested where it lives.
package server
