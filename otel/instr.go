package skiffotel

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/stats"
	"github.com/skiffrpc/skiff/core/status"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys this package adds beside the semantic conventions.
const (
	// OutcomeKey tells a declared exception ("declared_exception") or a
	// business error ("business_error") from a success; it is absent on
	// successes and failures (failures set error.type).
	OutcomeKey = attribute.Key("skiff.rpc.outcome")
	// BizStatusCodeKey is the code of a business error (*status.BizError).
	BizStatusCodeKey = attribute.Key("skiff.rpc.biz_status_code")
	// AttemptsKey is the number of attempts of a client call tried more
	// than once.
	AttemptsKey = attribute.Key("skiff.rpc.attempts")
	// AttemptNumberKey numbers an attempt in an "rpc.attempt" event.
	AttemptNumberKey = attribute.Key("skiff.rpc.attempt")
)

// Outcome values of OutcomeKey.
const (
	OutcomeDeclared = "declared_exception"
	OutcomeBiz      = "business_error"
)

// AttemptEvent is the name of the span event recorded for each attempt of
// a client call tried more than once.
const AttemptEvent = "rpc.attempt"

// instr holds one side's tracer and instruments.
type instr struct {
	cfg      *config
	methods  methods
	peers    peers
	attrs    sync.Pool // *attrBuf
	tracer   trace.Tracer
	kind     trace.SpanKind
	duration metric.Float64Histogram
	reqSize  metric.Int64Histogram
	respSize metric.Int64Histogram
	reqPer   metric.Int64Histogram
	respPer  metric.Int64Histogram
}

func newInstr(cfg *config, kind trace.SpanKind) *instr {
	in := &instr{cfg: cfg, kind: kind}
	in.methods.kind = kind
	if !cfg.noTracing {
		in.tracer = cfg.tp.Tracer(ScopeName)
	}
	if cfg.noMetrics {
		return in
	}
	m := cfg.mp.Meter(ScopeName)
	side := "rpc.client."
	if kind == trace.SpanKindServer {
		side = "rpc.server."
	}
	// Errors here mean an invalid name or a broken provider; the
	// instruments returned are then no-ops, which is all that can be done.
	// Bucket boundaries (advice: a view can replace them): RPCs on a LAN
	// take tens of microseconds to seconds, payloads bytes to megabytes.
	durationBuckets := []float64{0, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}
	sizeBuckets := []float64{0, 64, 256, 1024, 4096, 16384, 65536, 262144, 1 << 20, 4 << 20, 16 << 20}
	countBuckets := []float64{0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}
	in.duration, _ = m.Float64Histogram(side+"duration", metric.WithUnit("ms"),
		metric.WithDescription("Measures the duration of RPCs."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	in.reqSize, _ = m.Int64Histogram(side+"request.size", metric.WithUnit("By"),
		metric.WithDescription("Measures the bytes of the requests of an RPC on the wire."),
		metric.WithExplicitBucketBoundaries(sizeBuckets...))
	in.respSize, _ = m.Int64Histogram(side+"response.size", metric.WithUnit("By"),
		metric.WithDescription("Measures the bytes of the responses of an RPC on the wire."),
		metric.WithExplicitBucketBoundaries(sizeBuckets...))
	in.reqPer, _ = m.Int64Histogram(side+"requests_per_rpc", metric.WithUnit("{count}"),
		metric.WithDescription("Measures the number of messages received per RPC (server) or sent per RPC (client), for streams."),
		metric.WithExplicitBucketBoundaries(countBuckets...))
	in.respPer, _ = m.Int64Histogram(side+"responses_per_rpc", metric.WithUnit("{count}"),
		metric.WithDescription("Measures the number of messages sent per RPC (server) or received per RPC (client), for streams."),
		metric.WithExplicitBucketBoundaries(countBuckets...))
	return in
}

// system returns rpc.system for a codec name.
func system(codec string) string {
	switch codec {
	case "thrift", "buffered":
		return "thrift"
	case "protobuf", "kitexpb":
		return "kitex_protobuf"
	case "":
		return "skiff"
	}
	return codec
}

// result classifies a call's outcome.
type result struct {
	err      error
	declared bool
	biz      *status.BizError
	code     status.Code
	errType  string
}

func classify(err error) result {
	r := result{err: err}
	if err == nil {
		return r
	}
	if status.IsDeclared(err) {
		r.declared = true
		r.code = status.Unknown
		return r
	}
	var biz *status.BizError
	if errors.As(err, &biz) {
		r.biz = biz
		r.code = status.Internal // the code the gRPC codec sends for it
		return r
	}
	se := status.Convert(err)
	r.code = se.Code()
	if k := se.Kind(); k != status.KindNone && k != status.KindRemote {
		r.errType = k.String()
	} else {
		r.errType = r.code.String()
	}
	return r
}

// failed reports a failure (not a success, declared exception or business
// error).
func (r *result) failed() bool { return r.errType != "" }

// serverError reports whether a server should mark its span as an error:
// the codes the conventions name for gRPC servers (the caller's mistakes,
// such as InvalidArgument or NotFound, are not the server's errors).
func (r *result) serverError() bool {
	if !r.failed() {
		return false
	}
	switch r.code {
	case status.Unknown, status.DeadlineExceeded, status.Unimplemented, status.Internal,
		status.Unavailable, status.DataLoss:
		return true
	}
	return false
}

// outcomeAttrs appends the attributes of r to attrs.
func (r *result) outcomeAttrs(attrs []attribute.KeyValue, grpc bool) []attribute.KeyValue {
	if grpc {
		attrs = append(attrs, semconv.RPCGRPCStatusCodeKey.Int(int(r.code)))
	}
	switch {
	case r.declared:
		attrs = append(attrs, OutcomeKey.String(OutcomeDeclared))
	case r.biz != nil:
		attrs = append(attrs, OutcomeKey.String(OutcomeBiz), BizStatusCodeKey.Int(int(r.biz.Code)))
	case r.failed():
		attrs = append(attrs, semconv.ErrorTypeKey.String(r.errType))
	}
	return attrs
}

// setStatus sets the span status for r: Error for failures (on a server,
// only for the codes that are the server's errors), unset otherwise.
func (r *result) setStatus(span trace.Span, server bool) {
	if !r.failed() || (server && !r.serverError()) {
		return
	}
	span.SetStatus(codes.Error, r.err.Error())
}

// peerAttrs appends network.peer.address and network.peer.port for a.
func (in *instr) peerAttrs(attrs []attribute.KeyValue, a net.Addr) []attribute.KeyValue {
	switch a := a.(type) {
	case nil:
	case *net.TCPAddr:
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			attrs = append(attrs, in.peers.address(ip.Unmap()), semconv.NetworkPeerPort(a.Port))
		}
	default:
		host, port, err := net.SplitHostPort(a.String())
		if err != nil {
			return append(attrs, semconv.NetworkPeerAddress(a.String()))
		}
		attrs = append(attrs, semconv.NetworkPeerAddress(host))
		if p, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, semconv.NetworkPeerPort(p))
		}
	}
	return attrs
}

// dialedPeerAttrs appends network.peer.address and network.peer.port for
// a dialed "ip:port" address; nothing for a host name.
func (in *instr) dialedPeerAttrs(attrs []attribute.KeyValue, addr string) []attribute.KeyValue {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return attrs
	}
	ip, perr := netip.ParseAddr(host)
	p, err := strconv.Atoi(port)
	if perr != nil || err != nil {
		return attrs
	}
	return append(attrs, in.peers.address(ip), semconv.NetworkPeerPort(p))
}

// serverAttrs appends server.address and server.port for a "host:port"
// address (or a unix socket path).
func serverAttrs(attrs []attribute.KeyValue, addr string) []attribute.KeyValue {
	if addr == "" {
		return attrs
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return append(attrs, semconv.ServerAddress(addr))
	}
	attrs = append(attrs, semconv.ServerAddress(host))
	if p, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, semconv.ServerPort(p))
	}
	return attrs
}

// times returns the call's start and end from its record, falling back to
// start and now when they were not recorded.
func times(rec *stats.Record, start time.Time) (time.Time, time.Time) {
	if t, ok := rec.Time(stats.RPCStart); ok {
		start = t
	}
	end, ok := rec.Time(stats.RPCFinish)
	if !ok {
		end = time.Now()
	}
	return start, end
}

// record records the metrics of one finished call of method d.
func (in *instr) record(ctx context.Context, d *methodDesc, ci *callinfo.Info, r *result, start, end time.Time, stream bool, reqs, resps int64) {
	if in.duration == nil {
		return
	}
	opts := d.recordOptions(ci.Codec == "grpc", r)
	in.duration.Record(ctx, float64(end.Sub(start))/float64(time.Millisecond), opts...)
	sent, recvd := int64(ci.Stats.SendSize), int64(ci.Stats.RecvSize)
	if in.kind == trace.SpanKindServer {
		in.reqSize.Record(ctx, recvd, opts...)
		in.respSize.Record(ctx, sent, opts...)
	} else {
		in.reqSize.Record(ctx, sent, opts...)
		in.respSize.Record(ctx, recvd, opts...)
	}
	if stream {
		in.reqPer.Record(ctx, reqs, opts...)
		in.respPer.Record(ctx, resps, opts...)
	}
}

// attrBuf holds the attributes a span gets when it ends (at most 8: server
// address and port, peer address and port, attempts, gRPC status, outcome
// and business code). SetAttributes copies them, so the buffers are reused.
type attrBuf [8]attribute.KeyValue

func (in *instr) getAttrs() *attrBuf {
	if b, ok := in.attrs.Get().(*attrBuf); ok {
		return b
	}
	return new(attrBuf)
}

func (in *instr) putAttrs(b *attrBuf) {
	*b = attrBuf{}
	in.attrs.Put(b)
}
