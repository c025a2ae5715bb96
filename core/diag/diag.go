package diag

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"
)

// DefaultEvents is the number of recent events a Registry keeps unless
// NewRegistry says otherwise.
const DefaultEvents = 256

// Probe returns a snapshot of some state, a value encoding/json can
// marshal. It must be safe for concurrent use and should be quick: the
// handler calls every probe on each request.
type Probe func() any

// Event is something that happened, kept in the registry's ring.
type Event struct {
	// Time is when it was recorded.
	Time time.Time `json:"time"`
	// Source names who recorded it, such as "client/EchoService".
	Source string `json:"source"`
	// Message says what happened.
	Message string `json:"message"`
	// Attrs are details; nil when there are none.
	Attrs map[string]string `json:"attrs,omitempty"`
}

// Registry holds probes and recent events. It is safe for concurrent use.
// The methods of a nil *Registry do nothing (Register returns a no-op), so
// code may call them whether or not a registry was configured.
type Registry struct {
	mu     sync.Mutex
	probes map[string]Probe
	events []Event // ring of cap size
	next   int     // where the next event goes once the ring is full
	size   int
}

// NewRegistry returns an empty registry that keeps the last events events
// (DefaultEvents when events <= 0).
func NewRegistry(events int) *Registry {
	if events <= 0 {
		events = DefaultEvents
	}
	return &Registry{probes: map[string]Probe{}, size: events}
}

// Register adds probe p under name and returns a function that removes it.
// A name already taken gets a suffix ("#2", "#3", ...), so two clients of
// one service both show. The name actually used is the second result.
func (r *Registry) Register(name string, p Probe) (unregister func(), used string) {
	if r == nil || p == nil {
		return func() {}, name
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	used = name
	for i := 2; r.probes[used] != nil; i++ {
		used = name + "#" + strconv.Itoa(i)
	}
	r.probes[used] = p
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			delete(r.probes, used)
			r.mu.Unlock()
		})
	}, used
}

// Record adds an event from source; attrs are key, value pairs (a last key
// without a value is ignored). The oldest event is dropped once the ring is
// full.
func (r *Registry) Record(source, message string, attrs ...string) {
	if r == nil {
		return
	}
	e := Event{Time: time.Now(), Source: source, Message: message}
	if len(attrs) >= 2 {
		e.Attrs = make(map[string]string, len(attrs)/2)
		for i := 0; i+1 < len(attrs); i += 2 {
			e.Attrs[attrs[i]] = attrs[i+1]
		}
	}
	r.mu.Lock()
	if len(r.events) < r.size {
		r.events = append(r.events, e)
	} else {
		r.events[r.next] = e
		r.next = (r.next + 1) % r.size
	}
	r.mu.Unlock()
}

// Events returns the recent events, oldest first.
func (r *Registry) Events() []Event {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Event, 0, len(r.events))
	out = append(out, r.events[r.next:]...)
	return append(out, r.events[:r.next]...)
}

// Snapshot calls every probe and returns their results by name. A probe
// that panics shows as {"error": "..."} instead.
func (r *Registry) Snapshot() map[string]any {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	names := make([]string, 0, len(r.probes))
	probes := make([]Probe, 0, len(r.probes))
	for n := range r.probes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		probes = append(probes, r.probes[n])
	}
	r.mu.Unlock()
	out := make(map[string]any, len(names))
	for i, n := range names {
		out[n] = call(probes[i]) // outside the lock: a probe may take its own locks
	}
	return out
}

func call(p Probe) (v any) {
	defer func() {
		if e := recover(); e != nil {
			v = map[string]string{"error": fmt.Sprintf("probe panicked: %v", e)}
		}
	}()
	return p()
}

// Dump is what the handler serves.
type Dump struct {
	// Time is when the dump was taken.
	Time time.Time `json:"time"`
	// Probes are the probes' snapshots by name.
	Probes map[string]any `json:"probes"`
	// Events are the recent events, oldest first.
	Events []Event `json:"events"`
}

// ServeHTTP writes a Dump as indented JSON (GET and HEAD only).
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	b, err := json.MarshalIndent(Dump{Time: time.Now(), Probes: r.Snapshot(), Events: r.Events()}, "", "  ")
	if err != nil {
		http.Error(w, "diag: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(b, '\n'))
}
