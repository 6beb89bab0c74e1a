package process

import (
	"context"
	"log/slog"
	"net"
	"net/http"

	"github.com/bulkhead-dev/bulkhead/internal/sandbox"
)

// serve serves one sandbox's handler on a loopback port of its own.
func serve(ctx context.Context, h http.Handler, logger *slog.Logger) (*sandbox.Endpoint, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return sandbox.ServeEndpoint(l, h, slog.NewLogLogger(logger.Handler(), slog.LevelWarn)), nil
}
