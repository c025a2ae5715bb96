package consul_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// fakeConsul is a loopback HTTP server that answers like Consul's
// /v1/health/service endpoint (with blocking queries), for unit tests of
// what the package does with odd answers. The real-agent tests use a real
// Consul.
type fakeConsul struct {
	srv *httptest.Server

	mu       sync.Mutex
	index    uint64
	changed  chan struct{} // closed and replaced at each change
	body     []byte        // the answer to health queries
	status   int           // its HTTP status (200 unless set)
	queries  int           // health queries received
	inflight int           // health queries being answered now
	maxIn    int           // the most in flight at once
	other    func(w http.ResponseWriter, r *http.Request) bool
}

func newFake(t *testing.T) *fakeConsul { return newFakeB(t) }

func newFakeB(t testing.TB) *fakeConsul {
	t.Helper()
	f := &fakeConsul{index: 1, changed: make(chan struct{}), body: []byte("[]"), status: http.StatusOK}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.set(0, nil) // wake blocked queries
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
	return f
}

func (f *fakeConsul) addr() string { return strings.TrimPrefix(f.srv.URL, "http://") }

// set changes the answer (status 0 keeps it; nil body keeps it) and moves
// the index forward.
func (f *fakeConsul) set(status int, body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if status != 0 {
		f.status = status
	}
	if body != nil {
		f.body = body
	}
	f.index++
	close(f.changed)
	f.changed = make(chan struct{})
}

// setIndex sets the index (to move it backwards) and wakes queries.
func (f *fakeConsul) setIndex(i uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.index = i
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeConsul) setEntries(t *testing.T, entries ...*api.ServiceEntry) {
	t.Helper()
	b, err := json.Marshal(entries)
	if err != nil {
		t.Fatal(err)
	}
	f.set(http.StatusOK, b)
}

func (f *fakeConsul) stats() (queries, maxInflight int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queries, f.maxIn
}

func (f *fakeConsul) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	other := f.other
	f.mu.Unlock()
	if other != nil && other(w, r) {
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/v1/health/service/") {
		http.NotFound(w, r)
		return
	}
	want, _ := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	wait := 5 * time.Second
	if d, err := time.ParseDuration(r.URL.Query().Get("wait")); err == nil && d < wait {
		wait = d
	}
	f.mu.Lock()
	f.queries++
	f.inflight++
	f.maxIn = max(f.maxIn, f.inflight)
	deadline := time.After(wait)
	for want > 0 && f.index == want {
		ch := f.changed
		f.mu.Unlock()
		timedOut := false
		select {
		case <-ch:
		case <-deadline:
			timedOut = true
		case <-r.Context().Done():
			timedOut = true
		}
		f.mu.Lock()
		if timedOut {
			break
		}
	}
	f.inflight--
	status, body, index := f.status, f.body, f.index
	f.mu.Unlock()
	w.Header().Set("X-Consul-Index", strconv.FormatUint(index, 10))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// entry returns a health entry for service at 127.0.0.1:port.
func entry(service string, port int, meta map[string]string) *api.ServiceEntry {
	return &api.ServiceEntry{
		Node: &api.Node{Node: "n1", Address: "127.0.0.1"},
		Service: &api.AgentService{ID: fmt.Sprintf("%s@127.0.0.1:%d", service, port), Service: service,
			Address: "127.0.0.1", Port: port, Meta: meta},
	}
}
