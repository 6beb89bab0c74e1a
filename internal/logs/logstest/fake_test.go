package logstest

import (
	"testing"

	"github.com/bulkhead-dev/bulkhead/internal/logs"
)

func TestLogStoreFakeConformance(t *testing.T) {
	StoreConformance(t, func(t *testing.T) logs.Store { return new(Fake) })
}
