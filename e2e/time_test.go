package e2e

import (
	"encoding/json"
	"time"
)

func timeNow() time.Time { return time.Now() }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
