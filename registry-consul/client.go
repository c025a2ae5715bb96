package consul

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/hashicorp/consul/api"
)

// conn is the Consul API client a Registry or Resolver talks through.
type conn struct {
	client *api.Client
	// idle closes the idle HTTP connections of a transport the package
	// made; nil when the user's HttpClient is used.
	idle func()
}

// dial makes the Consul API client that o describes. It does not contact
// Consul.
func dial(o *options) (*conn, error) {
	var cfg api.Config
	if o.config != nil {
		cfg = *o.config
	} else {
		cfg = *api.DefaultConfig()
	}
	if o.address != "" {
		cfg.Address = o.address
	}
	if o.namespace != "" {
		cfg.Namespace = o.namespace
	}
	if o.partition != "" {
		cfg.Partition = o.partition
	}
	if o.token != "" {
		cfg.Token = o.token
	}
	c := &conn{}
	if cfg.HttpClient == nil {
		tr := cfg.Transport
		if tr == nil {
			tr = api.DefaultConfig().Transport
		} else {
			tr = tr.Clone()
		}
		hc, err := api.NewHttpClient(tr, cfg.TLSConfig)
		if err != nil {
			return nil, fmt.Errorf("consul: http client: %w", err)
		}
		hc.Transport = &limitTransport{base: hc.Transport, max: o.maxResponseBytes}
		cfg.HttpClient = hc
		cfg.Transport = tr
		c.idle = tr.CloseIdleConnections
	}
	client, err := api.NewClient(&cfg)
	if err != nil {
		return nil, fmt.Errorf("consul: client: %w", err)
	}
	c.client = client
	return c, nil
}

func (c *conn) close() {
	if c.idle != nil {
		c.idle()
	}
}

// ErrResponseTooLarge is returned (wrapped) when Consul answers with a
// body larger than WithMaxResponseBytes allows.
var ErrResponseTooLarge = errors.New("consul: response body too large")

// limitTransport fails the reading of a response body past max bytes, so
// a huge or endless answer costs bounded memory.
type limitTransport struct {
	base http.RoundTripper
	max  int64
}

func (t *limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	if resp.ContentLength > t.max {
		_ = resp.Body.Close()
		return nil, fmt.Errorf("%w: %s %s: Content-Length %d > %d bytes (WithMaxResponseBytes)",
			ErrResponseTooLarge, r.Method, r.URL.Path, resp.ContentLength, t.max)
	}
	resp.Body = &limitBody{rc: resp.Body, left: t.max, max: t.max, path: r.URL.Path}
	return resp, nil
}

type limitBody struct {
	rc   io.ReadCloser
	left int64
	max  int64
	path string
}

func (b *limitBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Probe for one more byte: a body of exactly max bytes is fine.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: %s: more than %d bytes (WithMaxResponseBytes)", ErrResponseTooLarge, b.path, b.max)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitBody) Close() error { return b.rc.Close() }

// backoff is an exponential delay with jitter between failed attempts.
type backoff struct {
	min, max time.Duration
	next     time.Duration
}

// reset forgets past failures.
func (b *backoff) reset() { b.next = 0 }

// delay returns the delay before the next attempt: between half and all of
// an exponentially growing bound.
func (b *backoff) delay() time.Duration {
	if b.next == 0 {
		b.next = b.min
	}
	d := b.next
	b.next = min(2*b.next, b.max)
	half := d / 2
	return half + rand.N(d-half+1)
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
