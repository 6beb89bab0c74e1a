// Package e2e holds Bulkhead's black-box tests: they build the bulkhead
// binary, start `bulkhead serve` on free ports with a fresh data directory,
// and drive it the way users do — with the unmodified AWS SDK for Go v2, raw
// signed HTTP requests, and the bulkhead CLI. Nothing here imports the
// platform's internal packages.
package e2e
