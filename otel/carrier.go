package skiffotel

import (
	"github.com/skiffrpc/skiff/core/callinfo"
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
