package consul

// StopHeartbeat stops every heartbeat of r without deregistering, as a
// crashed process would; for tests.
func StopHeartbeat(r *Registry) {
	r.mu.Lock()
	entries := r.entries
	r.entries = map[string]*entry{}
	r.closed = true
	r.mu.Unlock()
	for _, e := range entries {
		e.cancel()
		<-e.done
	}
	r.conn.close()
}
