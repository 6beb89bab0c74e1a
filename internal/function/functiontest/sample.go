// Package functiontest holds what tests of function.Store need: the
// conformance suite every implementation must pass (StoreConformance) and
// sample values (Sample, Code). It owns no implementation; the backends live
// in internal/store.
//
// A backend proves itself by running the suite with a constructor of empty
// stores:
//
//	func TestStoreSQLiteConformance(t *testing.T) {
//		functiontest.StoreConformance(t, func(t *testing.T) function.Store {
//			s, err := sqlite.Open(filepath.Join(t.TempDir(), "bulkhead.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
package functiontest

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/function"
)

// sampleTime has nanoseconds and a zone other than UTC, so a round trip shows
// what a store does to times (see StoreConformance).
var sampleTime = time.Date(2026, 11, 23, 10, 11, 12, 345678901, time.FixedZone("CET", 60*60))

// Sample returns a function named name and its $LATEST version with every
// field set to something other than its zero value, so a store that drops a
// field fails a round trip. The code is Code("code of " + name).
func Sample(name string) (function.Function, function.Version) {
	f := function.Function{
		Name:      name,
		PerTenant: true,
		Tags:      map[string]string{"team": "payments", "cost-center": "4711"},
		CreatedAt: sampleTime,
	}
	v := function.Version{
		Function: name,
		Number:   function.Latest,
		Config: function.Config{
			Runtime:          function.RuntimeProvidedAL2023,
			Handler:          "bootstrap",
			Role:             "arn:aws:iam::123456789012:role/" + name,
			Description:      "sample function " + name,
			MemorySize:       256,
			Timeout:          30,
			EphemeralStorage: 1024,
			Environment:      map[string]string{"STAGE": "test", "EMPTY": ""},
			Architecture:     function.ArchitectureARM64,
			Logging: function.Logging{
				Format:              "JSON",
				ApplicationLogLevel: "DEBUG",
				SystemLogLevel:      "WARN",
				LogGroup:            "/aws/lambda/" + name,
			},
		},
		Code:         Code("code of " + name),
		RevisionID:   "revision-" + name + "-1",
		LastModified: sampleTime.Add(1500 * time.Microsecond),
	}
	return f, v
}

// Code returns the identity of a code package whose zip is content.
func Code(content string) function.Code {
	sum := sha256.Sum256([]byte(content))
	return function.Code{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content))}
}

// sampleAlias returns an alias with every field set; its primary version is
// version and its additional version additional.
func sampleAlias(fn, name string, version, additional int) function.Alias {
	return function.Alias{
		Function:          fn,
		Name:              name,
		Version:           version,
		Description:       "alias " + name + " of " + fn,
		AdditionalWeights: map[int]float64{additional: 0.1},
		RevisionID:        "alias-revision-" + name + "-1",
	}
}
