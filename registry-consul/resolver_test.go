package consul_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/skiffrpc/skiff/core/discovery"
	consul "github.com/skiffrpc/skiff/registry-consul"
)

// logs collects log records for assertions.
type logs struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	l.mu.Lock()
	l.msgs = append(l.msgs, b.String())
	l.mu.Unlock()
	return nil
}
func (l *logs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logs) WithGroup(string) slog.Handler      { return l }

func (l *logs) find(sub string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.msgs {
		if strings.Contains(m, sub) {
			return m
		}
	}
	return ""
}

func newResolver(t *testing.T, f *fakeConsul, opts ...consul.Option) (*consul.Resolver, *logs) {
	t.Helper()
	l := &logs{}
	opts = append([]consul.Option{consul.WithAddress(f.addr()), consul.WithLogger(slog.New(l)),
		consul.WithBackoff(5*time.Millisecond, 20*time.Millisecond)}, opts...)
	r, err := consul.NewResolver(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r, l
}

// newWatch starts a watch of "svc" through a new resolver on f, stopped at
// the end of the test, and waits for its first set, want.
func newWatch(t *testing.T, f *fakeConsul, want string, opts ...consul.Option) (*consul.Resolver, *logs, *watcher) {
	t.Helper()
	r, l := newResolver(t, f, opts...)
	w := newWatcher()
	stop, err := r.Watch("svc", w.update)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	w.await(t, want)
	return r, l, w
}

func addrs(res discovery.Result) string {
	s := make([]string, len(res.Instances))
	for i, in := range res.Instances {
		s[i] = in.Address()
	}
	return strings.Join(s, ",")
}

func TestResolveConverts(t *testing.T) {
	f := newFake(t)
	e1 := entry("svc", 1001, map[string]string{"weight": "7", "protocol": "ttheader", "zone": "z1"})
	e2 := entry("svc", 1002, nil)
	e2.Service.Address = "" // the node's address counts
	e2.Service.Weights = api.AgentWeights{Passing: 3}
	dup := entry("svc", 1001, nil)
	f.setEntries(t, e1, e2, dup)
	r, _ := newResolver(t, f)
	res, err := r.Resolve(context.Background(), "svc")
	if err != nil {
		t.Fatal(err)
	}
	if got := addrs(res); got != "127.0.0.1:1001,127.0.0.1:1002" {
		t.Fatalf("addresses %s", got)
	}
	a, b := res.Instances[0], res.Instances[1]
	if a.Network() != "tcp" || a.Weight() != 7 || b.Weight() != 3 {
		t.Fatalf("network %s weights %d %d", a.Network(), a.Weight(), b.Weight())
	}
	if p, _ := a.Tag("protocol"); p != "ttheader" {
		t.Fatalf("protocol tag %q", p)
	}
	if z, _ := a.Tag("zone"); z != "z1" {
		t.Fatalf("zone tag %q", z)
	}
	if !res.Cacheable || !strings.HasPrefix(res.Key, "consul:svc#") {
		t.Fatalf("result key %q cacheable %v", res.Key, res.Cacheable)
	}
}

func TestResolveQueryParameters(t *testing.T) {
	f := newFake(t)
	var mu sync.Mutex
	var got []string
	f.other = func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		got = append(got, r.URL.RawQuery+" token="+r.Header.Get("X-Consul-Token"))
		mu.Unlock()
		return false
	}
	r, _ := newResolver(t, f, consul.WithDatacenter("dc9"), consul.WithTags("blue", "v2"), consul.WithStale(true),
		consul.WithToken("secret"), consul.WithNamespace("ns1"))
	if _, err := r.Resolve(context.Background(), "svc"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	q := got[0]
	for _, want := range []string{"dc=dc9", "tag=blue", "tag=v2", "stale=", "passing=1", "ns=ns1", "token=secret"} {
		if !strings.Contains(q, want) {
			t.Errorf("query %q lacks %q", q, want)
		}
	}
}

// Show 5: malformed answers give clear errors, never a panic.
func TestResolveBadInput(t *testing.T) {
	cases := []struct {
		name   string
		body   string
		status int
		want   string // in the error
		is     error
	}{
		{name: "not JSON", body: `{"Node": [`, want: "consul: query svc"},
		{name: "wrong shape", body: `{"a": 1}`, want: "cannot unmarshal"},
		{name: "wrong field types", body: `[{"Service": {"Port": "eighty"}}]`, want: "cannot unmarshal"},
		{name: "entry without Service", body: `[{"Node": {"Address": "127.0.0.1"}}]`, want: "entry 0: no Service", is: consul.ErrMalformed},
		{name: "null entry", body: `[null]`, want: "entry 0: no Service", is: consul.ErrMalformed},
		{name: "no port", body: `[{"Service": {"ID": "a", "Address": "127.0.0.1"}}]`, want: `instance "a" has port 0`, is: consul.ErrMalformed},
		{name: "port out of range", body: `[{"Service": {"ID": "a", "Address": "127.0.0.1", "Port": 70000}}]`, want: "port 70000", is: consul.ErrMalformed},
		{name: "no address", body: `[{"Service": {"ID": "a", "Port": 80}}]`, want: "no address", is: consul.ErrMalformed},
		{name: "bad weight", body: `[{"Service": {"ID": "a", "Address": "127.0.0.1", "Port": 80, "Meta": {"weight": "heavy"}}}]`, want: `Meta weight "heavy"`, is: consul.ErrMalformed},
		{name: "server error", body: `boom`, status: 500, want: "500"},
		{name: "ACL denied", body: `Permission denied`, status: 403, want: "Permission denied"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t)
			f.set(max(c.status, 200), []byte(c.body))
			r, _ := newResolver(t, f)
			res, err := r.Resolve(context.Background(), "svc")
			if err == nil {
				t.Fatalf("no error; got %d instances", len(res.Instances))
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Fatalf("error %v is not %v", err, c.is)
			}
		})
	}
}

// A good entry next to bad ones resolves; the bad ones are logged.
func TestResolveSkipsBadEntries(t *testing.T) {
	f := newFake(t)
	f.set(200, []byte(`[{"Service": {"ID": "bad", "Address": "127.0.0.1"}}, {"Service": {"ID": "good", "Address": "127.0.0.1", "Port": 81}}]`))
	r, l := newResolver(t, f)
	res, err := r.Resolve(context.Background(), "svc")
	if err != nil {
		t.Fatal(err)
	}
	if addrs(res) != "127.0.0.1:81" {
		t.Fatalf("got %s", addrs(res))
	}
	if l.find(`instance \"bad\" has port 0`) == "" && l.find(`instance "bad" has port 0`) == "" {
		t.Fatal("bad entry not logged")
	}
}

// manyEntries is a health answer of n instances.
func manyEntries(n int) []byte {
	var b strings.Builder
	b.WriteString("[")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"Node":{"Node":"n","Address":"127.0.0.1"},"Service":{"ID":"svc-%d","Service":"svc","Address":"10.%d.%d.%d","Port":%d,"Meta":{"weight":"10"}}}`,
			i, i>>16&255, i>>8&255, i&255, 1+i%60000)
	}
	b.WriteString("]")
	return []byte(b.String())
}

// Show 5: 10,000 entries are more than the default limit: a clear error.
// A larger limit takes them.
func TestResolveTooManyInstances(t *testing.T) {
	f := newFake(t)
	f.set(200, manyEntries(10000))
	r, _ := newResolver(t, f)
	_, err := r.Resolve(context.Background(), "svc")
	if !errors.Is(err, consul.ErrTooManyInstances) || !strings.Contains(err.Error(), "10000 passing instances, more than 4096") {
		t.Fatalf("err = %v", err)
	}
	r2, _ := newResolver(t, f, consul.WithMaxInstances(20000))
	res, err := r2.Resolve(context.Background(), "svc")
	if err != nil || len(res.Instances) != 10000 {
		t.Fatalf("%d instances, err %v", len(res.Instances), err)
	}

	// 10,000 entries shaped like a real agent's (node, service, two
	// checks): about 11 MiB, under the 16 MiB body limit, decoded and
	// refused; what it costs is bounded by the body limit.
	body := consulEntries(t, 10000, -1)
	f.set(200, body)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = r.Resolve(context.Background(), "svc")
	runtime.ReadMemStats(&after)
	if !errors.Is(err, consul.ErrTooManyInstances) {
		t.Fatalf("err = %v", err)
	}
	grew := after.TotalAlloc - before.TotalAlloc
	t.Logf("a %d KiB answer of 10,000 entries: %d KiB allocated to refuse it", len(body)>>10, grew>>10)
	if grew > 8*uint64(consul.DefaultMaxResponseBytes) {
		t.Fatalf("allocated %d MiB", grew>>20)
	}
	// With a smaller body limit the same answer fails while it is read.
	r3, _ := newResolver(t, f, consul.WithMaxResponseBytes(1<<20))
	if _, err := r3.Resolve(context.Background(), "svc"); !errors.Is(err, consul.ErrResponseTooLarge) {
		t.Fatalf("err = %v", err)
	}
}

// endless is a health answer that never ends: "[" then entries forever.
type endless struct{ off int }

const endlessHead, endlessEntry = "[", `{"Service":{"ID":"x","Address":"127.0.0.1","Port":80}},`

func (e *endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if e.off == 0 {
			p[n] = '['
			n++
			e.off = 1
			continue
		}
		i := (e.off - 1) % len(endlessEntry)
		c := copy(p[n:], endlessEntry[i:])
		n += c
		e.off += c
	}
	return n, nil
}

// Show 5: a huge (here endless) answer stops at the byte limit: memory
// stays bounded, and the error says why.
func TestResolveHugeBodyBounded(t *testing.T) {
	f := newFake(t)
	f.other = func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("X-Consul-Index", "5")
		_, _ = io.Copy(w, io.LimitReader(&endless{}, 512<<20))
		return true
	}
	r, _ := newResolver(t, f, consul.WithMaxResponseBytes(4<<20))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := r.Resolve(context.Background(), "svc")
	runtime.ReadMemStats(&after)
	if !errors.Is(err, consul.ErrResponseTooLarge) {
		t.Fatalf("err = %v", err)
	}
	// The decoder holds at most the 4 MiB it read (plus its growth
	// slack); the 512 MiB offered are never buffered.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Fatalf("allocated %d MiB reading a 4 MiB-limited answer", grew>>20)
	}
}

// watcher records the updates of one Watch.
type watcher struct {
	mu   sync.Mutex
	got  []discovery.Result
	note chan struct{}
}

func newWatcher() *watcher { return &watcher{note: make(chan struct{}, 1000)} }

func (w *watcher) update(res discovery.Result) {
	w.mu.Lock()
	w.got = append(w.got, res)
	w.mu.Unlock()
	w.note <- struct{}{}
}

func (w *watcher) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.got)
}

func (w *watcher) last() discovery.Result {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.got[len(w.got)-1]
}

// await waits until the last update's addresses are want.
func (w *watcher) await(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if w.count() > 0 && addrs(w.last()) == want {
			return
		}
		select {
		case <-w.note:
		case <-deadline:
			got := "(no update)"
			if w.count() > 0 {
				got = addrs(w.last())
			}
			t.Fatalf("watch shows %s, want %s", got, want)
		}
	}
}

// The watch keeps the last good set through errors and bad answers, and
// follows changes when Consul answers well again.
func TestWatchKeepsLastGoodSet(t *testing.T) {
	f := newFake(t)
	f.setEntries(t, entry("svc", 1, nil), entry("svc", 2, nil))
	r, l, w := newWatch(t, f, "127.0.0.1:1,127.0.0.1:2", consul.WithRecoveryGrace(-1))

	for _, bad := range []struct {
		status int
		body   string
	}{{500, "down"}, {200, "{not json"}, {200, `[{"Service":{"ID":"x"}}]`}, {200, string(manyEntries(5000))}} {
		n := w.count()
		q0, _ := f.stats()
		f.set(bad.status, []byte(bad.body))
		// Let the watch take the bad answer (the query in flight returns
		// it) and send its next query.
		waitFor(t, func() bool { q, _ := f.stats(); return q >= q0+1 })
		if w.count() != n {
			t.Fatalf("after a bad answer (%d %.20q) the watch pushed %s", bad.status, bad.body, addrs(w.last()))
		}
		res, err := r.Resolve(context.Background(), "svc")
		if err != nil || addrs(res) != "127.0.0.1:1,127.0.0.1:2" {
			t.Fatalf("Resolve during a bad answer: %s, %v", addrs(res), err)
		}
	}
	if l.find("watch failing") == "" {
		t.Fatal("failure not logged")
	}
	f.setEntries(t, entry("svc", 3, nil))
	w.await(t, "127.0.0.1:3")
	if l.find("watch resumed") == "" {
		t.Fatalf("recovery not logged")
	}
	// An empty answer from a healthy Consul is a real "no instances".
	f.setEntries(t)
	w.await(t, "")
}

// Right after a watch recovers, an answer with no passing instance (a
// restarted agent's TTL checks start critical) leaves the last set in
// place for the grace; instances end the grace; an empty answer that
// outlasts it is delivered; and a healthy watch delivers one at once.
func TestWatchRecoveryGrace(t *testing.T) {
	f := newFake(t)
	f.setEntries(t, entry("svc", 1, nil))
	const grace = 1500 * time.Millisecond
	r, _, w := newWatch(t, f, "127.0.0.1:1", consul.WithRecoveryGrace(grace))

	fail := func() {
		q0, _ := f.stats()
		f.set(500, []byte("down"))
		waitFor(t, func() bool { q, _ := f.stats(); return q >= q0+2 })
	}
	// The agent comes back with no passing instance, then the instance
	// passes again: the watch never shows an empty set.
	fail()
	n := w.count()
	f.set(200, []byte("[]"))
	time.Sleep(grace / 3)
	if w.count() != n {
		t.Fatalf("an empty answer right after recovery was delivered: %q", addrs(w.last()))
	}
	if res, err := r.Resolve(context.Background(), "svc"); err != nil || addrs(res) != "127.0.0.1:1" {
		t.Fatalf("Resolve during the grace: %q, %v", addrs(res), err)
	}
	f.setEntries(t, entry("svc", 1, nil), entry("svc", 2, nil))
	w.await(t, "127.0.0.1:1,127.0.0.1:2")
	// The grace ended with that answer: an empty one now is delivered at
	// once.
	emptied := time.Now()
	f.setEntries(t)
	w.await(t, "")
	if d := time.Since(emptied); d > grace/2 {
		t.Fatalf("a healthy watch held an empty answer for %v", d)
	}

	// Instances again; then a recovery into a lasting empty answer: it is
	// delivered once the grace is over, not before.
	f.setEntries(t, entry("svc", 3, nil))
	w.await(t, "127.0.0.1:3")
	fail()
	start := time.Now()
	f.set(200, []byte("[]"))
	w.await(t, "")
	if held := time.Since(start); held < grace*2/3 {
		t.Fatalf("a lasting empty answer was delivered after %v, within the %v grace", held, grace)
	}
}

// Consul's index going back (a cluster rebuilt) restarts the watch with a
// fresh read instead of blocking on an index that will not come.
func TestWatchIndexReset(t *testing.T) {
	f := newFake(t)
	f.setIndex(100)
	f.setEntries(t, entry("svc", 1, nil))
	_, _, w := newWatch(t, f, "127.0.0.1:1")
	f.mu.Lock()
	f.body = []byte(`[{"Service":{"ID":"x","Address":"127.0.0.1","Port":2}}]`)
	f.mu.Unlock()
	f.setIndex(3)
	w.await(t, "127.0.0.1:2")
}

// Watches of one service share one query loop; each gets the current set
// at once; a stopped watch gets nothing more.
func TestWatchShared(t *testing.T) {
	f := newFake(t)
	f.setEntries(t, entry("svc", 1, nil))
	r, _ := newResolver(t, f)
	w1, w2 := newWatcher(), newWatcher()
	stop1, _ := r.Watch("svc", w1.update)
	w1.await(t, "127.0.0.1:1")
	stop2, _ := r.Watch("svc", w2.update)
	if w2.count() != 1 {
		t.Fatalf("second watch got %d updates at once, want the current set", w2.count())
	}
	f.setEntries(t, entry("svc", 1, nil), entry("svc", 2, nil))
	w1.await(t, "127.0.0.1:1,127.0.0.1:2")
	w2.await(t, "127.0.0.1:1,127.0.0.1:2")
	if _, maxIn := f.stats(); maxIn != 1 {
		t.Fatalf("%d queries at once for one service, want 1", maxIn)
	}
	stop1()
	n := w1.count()
	f.setEntries(t, entry("svc", 3, nil))
	w2.await(t, "127.0.0.1:3")
	if w1.count() != n {
		t.Fatalf("stopped watch got an update")
	}
	stop2()
	stop2() // a second stop is harmless
}

func TestWatchAfterClose(t *testing.T) {
	f := newFake(t)
	r, _ := newResolver(t, f)
	_ = r.Close()
	if _, err := r.Watch("svc", func(discovery.Result) {}); !errors.Is(err, consul.ErrClosed) {
		t.Fatalf("err = %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func sortedAddrs(lns ...net.Listener) string {
	s := make([]string, len(lns))
	for i, ln := range lns {
		s[i] = ln.Addr().String()
	}
	slices.Sort(s)
	return strings.Join(s, ",")
}

// awaitSet waits until the last update's addresses, in any order, are
// want (sorted, comma-separated).
func (w *watcher) awaitSet(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		got := "(no update)"
		if w.count() > 0 {
			s := strings.Split(addrs(w.last()), ",")
			slices.Sort(s)
			got = strings.Join(s, ",")
			if got == want {
				return
			}
		}
		select {
		case <-w.note:
		case <-deadline:
			t.Fatalf("watch shows %s, want %s", got, want)
		}
	}
}

// A server that answers blocking queries at once, without a change (a
// proxy that does not block), does not make the watch spin.
func TestWatchNoSpin(t *testing.T) {
	f := newFake(t)
	var mu sync.Mutex
	n := 0
	f.other = func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		n++
		mu.Unlock()
		w.Header().Set("X-Consul-Index", "7")
		_, _ = w.Write([]byte(`[{"Service":{"ID":"x","Address":"127.0.0.1","Port":80}}]`))
		return true
	}
	r, _ := newResolver(t, f, consul.WithBackoff(50*time.Millisecond, time.Second))
	w := newWatcher()
	stop, err := r.Watch("svc", w.update)
	if err != nil {
		t.Fatal(err)
	}
	w.await(t, "127.0.0.1:80")
	time.Sleep(time.Second)
	stop()
	mu.Lock()
	defer mu.Unlock()
	if n > 40 {
		t.Fatalf("%d queries in about a second", n)
	}
	if w.count() != 1 {
		t.Fatalf("%d updates for one unchanging set", w.count())
	}
}
