package skiffotel

import (
	"context"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/metainfo"
	"go.opentelemetry.io/otel/propagation"
)

// MetadataCarrier adapts a call's neutral metadata (callinfo.Info.Request
// or Response) to an OpenTelemetry propagation.TextMapCarrier, so any
// propagator can inject into or extract from it. Keys are lower case, as
// the metadata stores them. A MetadataCarrier is as safe for concurrent use
// as the Metadata it points to.
type MetadataCarrier struct{ MD *callinfo.Metadata }

var _ propagation.TextMapCarrier = MetadataCarrier{}

// Get returns the value of key, or "" when it is absent.
func (c MetadataCarrier) Get(key string) string {
	v, _ := c.MD.Get(key)
	return v
}

// Set sets key to value.
func (c MetadataCarrier) Set(key, value string) { c.MD.Set(key, value) }

// Keys returns the keys present.
func (c MetadataCarrier) Keys() []string {
	keys := make([]string, 0, c.MD.Len())
	c.MD.Range(func(k, _ string) bool {
		keys = append(keys, k)
		return true
	})
	return keys
}

// serverCarrier reads the request metadata, then the transient metainfo
// values of ctx (where a Kitex client's obs-opentelemetry puts the trace
// context).
type serverCarrier struct {
	md  *callinfo.Metadata
	ctx context.Context
}

func (c serverCarrier) Get(key string) string {
	if v, ok := c.md.Get(key); ok {
		return v
	}
	v, _ := metainfo.GetValue(c.ctx, key)
	return v
}

func (c serverCarrier) Set(key, value string) { c.md.Set(key, value) }

func (c serverCarrier) Keys() []string {
	keys := MetadataCarrier{c.md}.Keys()
	for k := range metainfo.GetAllValues(c.ctx) {
		if _, ok := c.md.Get(k); !ok {
			keys = append(keys, k)
		}
	}
	return keys
}

// clientCarrier writes the request metadata and, when metainfo is set,
// transient metainfo values into ctx too.
type clientCarrier struct {
	md       *callinfo.Metadata
	ctx      *context.Context
	metainfo bool
}

func (c clientCarrier) Get(key string) string { v, _ := c.md.Get(key); return v }

func (c clientCarrier) Set(key, value string) {
	c.md.Set(key, value)
	if c.metainfo {
		*c.ctx = metainfo.WithValue(*c.ctx, key, value)
	}
}

func (c clientCarrier) Keys() []string { return MetadataCarrier{c.md}.Keys() }
