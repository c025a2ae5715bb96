package skiffotel

import (
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/status"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
)

// maxMethods bounds the per-method cache of an instrumentation: a server
// with an unknown-method handler sees method names its callers choose.
// Methods beyond it are described afresh on every call.
const maxMethods = 4096

// methodKey names a method of a service on a codec.
type methodKey struct{ service, method, codec string }

// methodDesc is what every call of one method shares: the span name, the
// attributes and span start options, and the metric options per outcome.
type methodDesc struct {
	name  string
	attrs []attribute.KeyValue // rpc.system, rpc.service, rpc.method
	start []trace.SpanStartOption
	ok    []metric.RecordOption // metric options of a success (and of outcomes that are not failures)
	fails sync.Map              // failKey -> []metric.RecordOption
}

// failKey is one kind of failure, as metrics split them.
type failKey struct {
	code    status.Code
	errType string
}

// methods caches method descriptions.
type methods struct {
	kind trace.SpanKind
	m    sync.Map // methodKey -> *methodDesc
	n    atomic.Int32
}

// get returns the description of ci's method.
func (ms *methods) get(ci *callinfo.Info) *methodDesc {
	k := methodKey{ci.Service, ci.Method, ci.Codec}
	if d, ok := ms.m.Load(k); ok {
		return d.(*methodDesc)
	}
	d := ms.describe(k)
	if ms.n.Load() < maxMethods {
		if old, loaded := ms.m.LoadOrStore(k, d); loaded {
			return old.(*methodDesc)
		}
		ms.n.Add(1)
	}
	return d
}

func (ms *methods) describe(k methodKey) *methodDesc {
	d := &methodDesc{name: k.service + "/" + k.method}
	d.attrs = []attribute.KeyValue{
		semconv.RPCSystemKey.String(system(k.codec)),
		semconv.RPCService(k.service),
		semconv.RPCMethod(k.method),
	}
	d.start = []trace.SpanStartOption{trace.WithSpanKind(ms.kind), trace.WithAttributes(d.attrs...)}
	d.ok = d.metricOptions(k.codec == "grpc", status.OK, "")
	return d
}

// metricOptions returns the record options for an outcome.
func (d *methodDesc) metricOptions(grpc bool, code status.Code, errType string) []metric.RecordOption {
	attrs := append(make([]attribute.KeyValue, 0, len(d.attrs)+2), d.attrs...)
	if grpc {
		attrs = append(attrs, semconv.RPCGRPCStatusCodeKey.Int(int(code)))
	}
	if errType != "" {
		attrs = append(attrs, semconv.ErrorTypeKey.String(errType))
	}
	return []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attrs...))}
}

// recordOptions returns the metric options of r's outcome.
func (d *methodDesc) recordOptions(grpc bool, r *result) []metric.RecordOption {
	if !r.failed() && (!grpc || r.code == status.OK) {
		return d.ok
	}
	k := failKey{r.code, r.errType}
	if o, ok := d.fails.Load(k); ok {
		return o.([]metric.RecordOption)
	}
	o := d.metricOptions(grpc, r.code, r.errType)
	d.fails.Store(k, o) // bounded: codes times error types
	return o
}

// maxPeers bounds the cache of peer address attributes.
const maxPeers = 1024

// peers caches the network.peer.address attribute of the IP addresses
// seen, so that a call does not format its peer's address afresh. Ports
// are integers and need no cache.
type peers struct {
	m sync.Map // netip.Addr -> attribute.KeyValue
	n atomic.Int32
}

// address returns the network.peer.address attribute of ip.
func (ps *peers) address(ip netip.Addr) attribute.KeyValue {
	if kv, ok := ps.m.Load(ip); ok {
		return kv.(attribute.KeyValue)
	}
	kv := semconv.NetworkPeerAddress(ip.String())
	if ps.n.Load() < maxPeers {
		if _, loaded := ps.m.LoadOrStore(ip, kv); !loaded {
			ps.n.Add(1)
		}
	}
	return kv
}
