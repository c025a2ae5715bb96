package grpccodec

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/metainfo"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

// serverKey finds the *serverStream of a server call's context.
type serverKey struct{}

// serverCtx is a handler's context: the parent plus the stream, found by
// [serverKey] without another allocation.
type serverCtx struct {
	context.Context
	ss *serverStream
}

func (c *serverCtx) Value(k any) any {
	if _, ok := k.(serverKey); ok {
		return c.ss
	}
	return c.Context.Value(k)
}

// Server stream states.
const (
	stateRunning int32 = iota
	stateFinished
	stateReset
)

// serverStream is one gRPC call on a raw server stream.
type serverStream struct {
	c       *Codec
	raw     stream.RawServerStream
	cx      serverCtx
	sub     string // content subtype
	recvEnc string // request encoding, "" for identity
	sendEnc string // response encoding, "" for identity
	unary   bool
	tctx    context.Context // the context with the grpc-timeout deadline
	fr      FrameReader
	state   atomic.Int32
	ci      *callinfo.Info // the call, once the dispatcher started it
	outcome error          // the status the call ended with
	carried bool           // ci.Response was added to the header

	headerSent bool
	header     stream.Header // wire form, sent with the response header
	trailer    stream.Header // wire form, sent with the status
	hbuf       [4]stream.Field
	tbuf       [4]stream.Field
	wbuf       [3]stream.Field // the response header block
	cbuf       [6]stream.Field // the trailer block
}

var _ stream.ServerStream = (*serverStream)(nil)

// ServeStream serves one gRPC call on s: it checks the request header,
// finds the method with d (an unknown service or method ends the call with
// UNIMPLEMENTED), applies grpc-timeout as the handler context's deadline,
// reads the request, runs d.Invoke and writes the response, the status
// trailers and the handler's metadata. Unary methods (StreamingNone and
// StreamingUnary) get their decoded argument and result values; streaming
// methods get the [stream.ServerStream]. It ends s before it returns.
func (c *Codec) ServeStream(raw stream.RawServerStream, d stream.Dispatcher) {
	ss := &serverStream{c: c, raw: raw}
	ss.header = ss.hbuf[:0]
	ss.trailer = ss.tbuf[:0]
	h := raw.Header()
	ctx := raw.Context()
	ss.cx = serverCtx{Context: ctx, ss: ss}

	sub, ok := parseContentType(h.Get("content-type"))
	if !ok {
		_ = raw.WriteHeader(stream.Header{{Name: ":status", Value: "415"}})
		ss.headerSent = true
		ss.finish(status.Errorf(status.Internal, "grpc: invalid content-type %q", h.Get("content-type")))
		return
	}
	ss.sub = sub
	if !supportedSubtype(sub) {
		ss.finish(status.Errorf(status.Internal, "grpc: no codec registered for content-subtype %q", sub))
		return
	}
	path := h.Get(":path")
	svc, method, ok := splitPath(path)
	if !ok {
		ss.finish(status.Errorf(status.Unimplemented, "malformed method name: %q", path))
		return
	}
	switch enc := h.Get("grpc-encoding"); enc {
	case "", encodingIdentity:
	case encodingGzip:
		ss.recvEnc, ss.sendEnc = enc, enc
	default:
		ss.trailer = append(ss.trailer, stream.Field{Name: "grpc-accept-encoding", Value: acceptEncoding})
		ss.finish(status.Errorf(status.Unimplemented, "grpc: Decompressor is not installed for grpc-encoding %q", enc))
		return
	}
	m, err := d.Lookup(svc, method)
	if err != nil {
		ss.finish(unimplemented(err, svc, method))
		return
	}
	if t := h.Get("grpc-timeout"); t != "" {
		to, err := ParseTimeout(t)
		if err != nil {
			ss.finish(err)
			return
		}
		if to <= 0 {
			ss.finish(status.New(status.DeadlineExceeded, "grpc: the call's deadline passed before it started"))
			return
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, to)
		defer cancel()
		ss.tctx = ctx
		stop := context.AfterFunc(ctx, ss.expire)
		defer stop()
	}
	ctx = metainfoFromHeader(ctx, h)
	if sp, ok := d.(stream.StartPreparer); ok {
		// The server's tracers see the request metadata (trace context).
		ctx = sp.StartPrepared(ctx, m, ss)
	} else {
		ctx = d.Start(ctx, m)
		ss.PrepareCall(ctx)
	}
	// The call's backward values: a server call's Info holds them; a
	// dispatcher that makes none gets a collector of its own.
	ctx = metainfo.ServerBackwardValues(ctx)
	ss.ci = callinfo.From(ctx)
	ss.cx.Context = ctx
	defer func() { d.Finish(&ss.cx, ss.outcome) }()
	ss.fr.reset(raw, c.maxRecv)
	defer ss.fr.release()

	mode := m.Info.StreamingMode
	if mode == service.StreamingNone || mode == service.StreamingUnary {
		ss.unary = true
		ss.finish(ss.serveUnary(d, m))
		return
	}
	ss.finish(d.Invoke(&ss.cx, m, ss, nil))
}

// serveUnary reads the one request, invokes the method and sends the
// response message.
func (ss *serverStream) serveUnary(d stream.Dispatcher, m *stream.Method) error {
	args := m.Info.NewArgs()
	if err := ss.RecvMsg(args); err != nil {
		if err == io.EOF {
			return status.New(status.Internal, "grpc: client sent no request message")
		}
		return err
	}
	var result any
	if m.Info.NewResult != nil {
		result = m.Info.NewResult()
	}
	err := d.Invoke(&ss.cx, m, args, result)
	if r, ok := args.(service.Recycler); ok {
		r.Recycle()
	}
	if err != nil {
		return err
	}
	err = ss.SendMsg(result)
	if r, ok := result.(service.Recycler); ok {
		r.Recycle()
	}
	return err
}

// PrepareCall implements stream.CallPreparer: the call's Info gets the
// codec's name and the request metadata.
func (ss *serverStream) PrepareCall(ctx context.Context) {
	if ci := callinfo.From(ctx); ci != nil {
		ci.Codec = ss.c.Name()
		fillCarrier(&ci.Request, ss.raw.Header())
	}
}

// unimplemented returns the UNIMPLEMENTED error for a failed lookup,
// keeping the dispatcher's message when it has one.
func unimplemented(err error, svc, method string) error {
	var se *status.Error
	if errors.As(err, &se) && se.Code() == status.Unimplemented && se.Message() != "" {
		return se
	}
	return status.Errorf(status.Unimplemented, "unknown method %s for service %s", method, svc)
}

// splitPath splits a gRPC path "/pkg.Service/Method".
func splitPath(p string) (svc, method string, ok bool) {
	if len(p) < 2 || p[0] != '/' {
		return "", "", false
	}
	p = p[1:]
	i := strings.LastIndexByte(p, '/')
	if i <= 0 || i == len(p)-1 {
		return "", "", false
	}
	return p[:i], p[i+1:], true
}

// expire runs when the handler's deadline passes: the stream is reset so
// a handler blocked in RecvMsg or SendMsg returns; the client, which has
// the same deadline, reports DEADLINE_EXCEEDED itself.
func (ss *serverStream) expire() {
	if ss.tctx.Err() != context.DeadlineExceeded {
		return // ended by the client or by finish
	}
	if ss.state.CompareAndSwap(stateRunning, stateReset) {
		ss.raw.Reset(stream.CodeCancel)
	}
}

// finish ends the call with the status for err (nil is OK).
func (ss *serverStream) finish(err error) {
	ss.outcome = err
	if !ss.state.CompareAndSwap(stateRunning, stateFinished) {
		// expire won: make sure its reset is done before ServeStream
		// returns (the transport would otherwise reset with INTERNAL).
		ss.raw.Reset(stream.CodeCancel)
		return
	}
	if err != nil && ss.raw.Context().Err() != nil {
		if !errors.Is(context.Cause(ss.raw.Context()), stream.ErrServerStopping) {
			// The client is gone; there is no one to send a status to.
			ss.raw.Reset(stream.CodeCancel)
			return
		}
		// The server stopped before the stream ended: UNAVAILABLE tells
		// the client to go elsewhere, as grpc-go's clients expect.
		err = status.New(status.Unavailable, "grpc: the server is shutting down")
		ss.outcome = err
	}
	tr := stream.Header(ss.cbuf[:0])
	if !ss.headerSent {
		// Trailers-only: one header block with the status.
		ss.addCarrier()
		tr = append(tr, stream.Field{Name: "content-type", Value: contentType(ss.sub)})
		tr = append(tr, ss.header...)
	}
	tr = appendStatus(tr, err)
	tr = append(tr, ss.trailer...)
	tr = appendBackward(&ss.cx, tr)
	if cerr := ss.raw.Close(tr); cerr != nil {
		ss.raw.Reset(stream.CodeInternal)
	}
}

// Context returns the handler's context: done when the client cancels or
// the deadline from grpc-timeout passes.
func (ss *serverStream) Context() context.Context { return &ss.cx }

// SetHeader adds fields (values decoded; "-bin" keys are base64-encoded
// on the wire) to the response header. Reserved names are ignored; an
// illegal key or value is an Internal error.
func (ss *serverStream) SetHeader(h stream.Header) error {
	if ss.headerSent {
		return status.New(status.Internal, "grpc: SetHeader called after the header was sent")
	}
	var err error
	ss.header, err = appendWireMD(ss.header, h)
	return err
}

// SendHeader sends the response header now, with h added.
func (ss *serverStream) SendHeader(h stream.Header) error {
	if err := ss.SetHeader(h); err != nil {
		return err
	}
	return ss.writeHeader()
}

// SetTrailer adds fields to the trailer; illegal ones are dropped.
func (ss *serverStream) SetTrailer(h stream.Header) {
	for _, f := range h {
		ss.trailer, _ = appendWireMD(ss.trailer, stream.Header{f})
	}
}

func (ss *serverStream) writeHeader() error {
	if ss.headerSent {
		return status.New(status.Internal, "grpc: the header was already sent")
	}
	ss.headerSent = true
	ss.addCarrier()
	h := stream.Header(ss.wbuf[:0])
	h = append(h, stream.Field{Name: "content-type", Value: contentType(ss.sub)})
	if ss.sendEnc != "" {
		h = append(h, stream.Field{Name: "grpc-encoding", Value: ss.sendEnc})
	}
	h = append(h, ss.header...)
	if err := ss.raw.WriteHeader(h); err != nil {
		return ss.ioErr(err)
	}
	return nil
}

// addCarrier adds the call's reply metadata (callinfo.Info.Response) to
// the response header, once.
func (ss *serverStream) addCarrier() {
	if ss.ci != nil && !ss.carried {
		ss.carried = true
		ss.header = appendCarrier(ss.header, &ss.ci.Response)
	}
}

// SendMsg sends one response message, with the header first if it was
// not sent. A message of a unary method is sent with the trailer.
func (ss *serverStream) SendMsg(m any) error {
	if ss.state.Load() != stateRunning {
		return status.New(status.Internal, "grpc: SendMsg after the call ended")
	}
	if !ss.headerSent {
		if err := ss.writeHeader(); err != nil {
			return err
		}
	}
	bp := getBuf()
	defer putBuf(bp)
	frame, err := encodeFrame(*bp, m, ss.sub, ss.sendEnc)
	*bp = frame[:0]
	if err != nil {
		return err
	}
	if ss.ci != nil {
		ss.ci.Stats.SendSize += len(frame)
	}
	if _, err := ss.raw.Write(frame); err != nil {
		return ss.ioErr(err)
	}
	if !ss.unary {
		if err := ss.raw.Flush(); err != nil {
			return ss.ioErr(err)
		}
	}
	return nil
}

// RecvMsg receives one request message into m; io.EOF once the client has
// closed its side.
func (ss *serverStream) RecvMsg(m any) error {
	comp, p, err := ss.fr.Next()
	if err != nil {
		if err == io.EOF {
			return io.EOF
		}
		var se *status.Error
		if errors.As(err, &se) {
			return err
		}
		return ss.ioErr(err)
	}
	// Decoding copies what it keeps: the transport gets its bytes back,
	// and the peer its window, before the handler runs.
	defer ss.fr.endLoan()
	if ss.ci != nil {
		ss.ci.Stats.RecvSize += FrameHeaderLen + len(p)
	}
	if comp {
		if ss.recvEnc == "" {
			return status.New(status.Internal, "grpc: compressed flag set with identity or empty encoding")
		}
		if p, err = gunzip(p, ss.c.maxRecv); err != nil {
			return err
		}
	}
	return decodePayload(p, m, ss.sub)
}

// ioErr maps a raw stream error to a status error.
func (ss *serverStream) ioErr(err error) error {
	switch ss.cx.Context.Err() {
	case context.DeadlineExceeded:
		return status.Wrap(status.ErrTimeout, "grpc: the call's deadline passed", err)
	case context.Canceled:
		return status.Wrap(status.ErrCanceled, "grpc: the client canceled the call", err)
	}
	var se *status.Error
	if errors.As(err, &se) {
		return err
	}
	return status.Errorf(status.Unavailable, "grpc: stream: %v", err)
}

// encodeFrame appends one length-prefixed message for m to dst (which
// should be empty), compressed when enc is "gzip".
func encodeFrame(dst []byte, m any, sub, enc string) ([]byte, error) {
	dst = append(dst[:0], 0, 0, 0, 0, 0)
	b, err := appendPayload(dst, m, sub)
	if err != nil {
		return b, err
	}
	n := len(b) - FrameHeaderLen
	if uint64(n) > maxFrameLen {
		return b, status.Errorf(status.ResourceExhausted, "grpc: message of %d bytes is too large to send", n)
	}
	if enc == encodingGzip {
		zp := getBuf()
		z, err := gzipAppend(append((*zp)[:0], 0, 0, 0, 0, 0), b[FrameHeaderLen:])
		if err != nil {
			putBuf(zp)
			return b, err
		}
		b = append(b[:0], z...)
		*zp = z[:0]
		putBuf(zp)
		putFrameHeader(b, true, len(b)-FrameHeaderLen)
		return b, nil
	}
	putFrameHeader(b, false, n)
	return b, nil
}

// deadlineLeft returns the time left before ctx's deadline and the call's
// RPC timeout, whichever is smaller; 0 and false when neither is set.
func deadlineLeft(ctx context.Context, rpcTimeout time.Duration) (time.Duration, bool) {
	left, ok := rpcTimeout, rpcTimeout > 0
	if d, has := ctx.Deadline(); has {
		if until := time.Until(d); !ok || until < left {
			left, ok = until, true
		}
	}
	return left, ok
}
