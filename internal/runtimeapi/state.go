package runtimeapi

import "github.com/bulkhead-dev/bulkhead/internal/errdefs"

// state is where the environment is in its life; doc.go draws the machine.
type state int

const (
	starting   state = iota // waiting for the runtime's first GET /next
	initFailed              // the runtime reported /init/error
	idle                    // initialised, no invocation outstanding
	queued                  // an invocation waits for a GET /next
	running                 // the runtime has the invocation
	responding              // the runtime is sending its /response or /error
	abandoned               // Invoke's ctx ended first; the environment is unusable
	closed                  // Close was called
)

var stateNames = [...]string{
	starting:   "Starting",
	initFailed: "InitFailed",
	idle:       "Idle",
	queued:     "Queued",
	running:    "Running",
	responding: "Responding",
	abandoned:  "Abandoned",
	closed:     "Closed",
}

func (st state) String() string { return stateNames[st] }

// event is what moves the machine: a runtime request or a call of the Go API.
type event string

const (
	evNext      event = "GET /runtime/invocation/next"
	evInitError event = "POST /runtime/init/error"
	evRespond   event = "POST /runtime/invocation/{id}/response or /error"
	evComplete  event = "Completing the invocation"
	evInvoke    event = "Invoke"
	evCancel    event = "Cancelling the invocation"
	evClose     event = "Close"
)

// transitions lists, for each state, the events it allows and where each
// leads. Anything not listed is refused.
var transitions = map[state]map[event]state{
	starting: {evNext: idle, evInitError: initFailed, evClose: closed},
	// A GET /next in Idle waits there, taking the place of any earlier one.
	idle: {evNext: idle, evInvoke: queued, evClose: closed},
	// Next: a GET /next arrives, or the one waiting in Idle wakes, and
	// takes the invocation.
	queued:     {evNext: running, evCancel: abandoned, evClose: closed},
	running:    {evRespond: responding, evCancel: abandoned, evClose: closed},
	responding: {evComplete: idle, evCancel: abandoned, evClose: closed},
	initFailed: {evClose: closed},
	abandoned:  {evClose: closed},
	closed:     {},
}

// transition applies ev to the server's state, or returns why it cannot:
// ErrClosed once closed, else an errdefs.ErrConflict error (rendered as 403
// InvalidStateTransition). Leaving Starting closes initDone; reaching Closed
// closes closed. mu must be held.
func (s *Server) transition(ev event) error {
	if s.state == closed {
		return ErrClosed
	}
	to, ok := transitions[s.state][ev]
	if !ok {
		return errdefs.New(errdefs.ErrConflict, "%s is not allowed in state %s.", ev, s.state)
	}
	from := s.state
	s.state = to
	if from == starting {
		close(s.initDone)
	}
	if to == closed {
		close(s.closed)
	}
	return nil
}
