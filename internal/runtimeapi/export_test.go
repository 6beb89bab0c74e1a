package runtimeapi

// StateOf reports, for tests, the server's state and whether a GET /next is
// waiting in Idle.
func StateOf(s *Server) (state string, waiting bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.String(), s.waiter != nil
}
