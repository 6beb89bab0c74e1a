package postgres

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// pool is a small pool of connections as one role. (pgxpool would serve,
// but its dependency, puddle, is not among the module's requirements; this
// is the little of it the store needs.)
//
// A connection goes back to the idle list only if it is open and idle, not
// in a transaction; any other is closed. So a connection whose transaction
// an error or a cancelled context left open never serves another request,
// and nothing a request did outlives it but session state, which the store
// never sets: tenant context is transaction-local.
type pool struct {
	config *pgx.ConnConfig
	slots  chan struct{} // one token per open connection, in use or idle

	mu     sync.Mutex // guards idle and closed
	idle   []*pgx.Conn
	closed bool
}

var errPoolClosed = errors.New("connection pool closed")

func newPool(config *pgx.ConnConfig, size int) *pool {
	return &pool{config: config, slots: make(chan struct{}, size)}
}

// acquire returns an idle connection or opens one, waiting while all are
// in use.
func (p *pool) acquire(ctx context.Context) (*pgx.Conn, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		return nil, errPoolClosed
	}
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	c, err := pgx.ConnectConfig(ctx, p.config)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return c, nil
}

// release returns c to the pool, or closes it if it is not clean.
func (p *pool) release(c *pgx.Conn) {
	defer func() { <-p.slots }()
	clean := !c.IsClosed() && !c.PgConn().IsBusy() && c.PgConn().TxStatus() == 'I'
	p.mu.Lock()
	if clean && !p.closed {
		p.idle = append(p.idle, c)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	closeConn(c)
}

// close closes the idle connections; those in use close on release.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		closeConn(c)
	}
}

func closeConn(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.Close(ctx)
}
