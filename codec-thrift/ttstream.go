package thriftcodec

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/metainfo"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

// ContentTypeTTStream is the content type of Thrift streams over TTHeader
// Streaming. The ttstream transport (transport-ttheader) shows it on a
// server stream whose frames carry protocol id 0x10 (a Thrift struct), and
// reads it on a client's request header to choose that protocol id.
const ContentTypeTTStream = "application/x-ttstream+thrift"

// Header and trailer keys of ttstream that the codec reads and writes.
const (
	keyIDLService = "isn"
	keyBizStatus  = "biz-status"
	keyBizMessage = "biz-message"
	keyBizExtra   = "biz-extra"
)

// Kitex's ttstream exception type ids that map to status codes.
const (
	ttTransportClosing int32 = 12006
	ttCancelFirst      int32 = 12007
	ttCancelLast       int32 = 12013
)

// TTStream is the stream codec of Thrift over TTHeader Streaming, Kitex's
// streamx protocol ("ttstream-thrift"): one Thrift struct (no message
// header) per data frame, as Kitex sends them; handler errors as a Thrift
// EXCEPTION message in the trailer frame's payload; business errors
// (status.BizError) as the trailer's biz-status, biz-message and biz-extra
// keys; metainfo (RPC_TRANSIT_, RPC_PERSIST_) and the call's metadata as
// header string keys. It is registered with the core stream codec
// registry when this package is imported, so servers serve it; clients
// choose it with client.WithStreamCodec(thriftcodec.TTStream) and
// client.WithStreamTransport(ttheader.TTStream).
//
// It serves streaming methods (client, server and bidirectional); Kitex
// v0.15.2 does not call unary methods over ttstream, and neither does this
// codec (they end with UNIMPLEMENTED).
var TTStream stream.Codec = ttCodec{}

func init() { stream.RegisterCodec(TTStream) }

type ttCodec struct{}

// msgStream is the message interface of ttstream raw streams
// (transport-ttheader's MsgStream).
type msgStream interface {
	WriteMsg(p []byte) error
	ReadMsg() ([]byte, error)
}

// payloadCloser is a ttstream server stream's CloseWithPayload.
type payloadCloser interface {
	CloseWithPayload(trailer stream.Header, payload []byte) error
}

// trailerPayloader is a ttstream client stream's TrailerPayload.
type trailerPayloader interface {
	TrailerPayload() []byte
}

// resetException is the exception an rst frame carried
// (transport-ttheader's ResetError).
type resetException interface {
	ResetException() (typeID int32, msg string, ok bool)
}

func (ttCodec) Name() string { return "ttstream-thrift" }

// ForProtocol implements stream.ProtocolMatcher: it is the default codec of
// TTHeader streaming ("ttstream").
func (ttCodec) ForProtocol(protocol string) bool { return protocol == "ttstream" }

// Detect accepts the content type a ttstream server stream shows for
// Thrift frames.
func (ttCodec) Detect(h stream.Header) bool { return h.Get("content-type") == ContentTypeTTStream }

var ttBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// writeStruct encodes m into a pooled buffer and sends it as one message
// (the transport copies it before WriteMsg returns). It returns the size.
func writeStruct(ms msgStream, m any) (int, error) {
	bp := ttBufs.Get().(*[]byte)
	defer ttBufs.Put(bp)
	var b []byte
	var err error
	if fc, ok := m.(FastCodec); ok {
		b = fc.FastAppend(slices.Grow((*bp)[:0], fc.FastSize()))
	} else if b, err = appendStruct((*bp)[:0], m); err != nil {
		return 0, err
	}
	if cap(b) <= 64<<10 {
		*bp = b[:0]
	}
	return len(b), ms.WriteMsg(b)
}

// ---- server ----

type ttServerStream struct {
	raw        stream.RawServerStream
	ms         msgStream
	ctx        context.Context
	ci         *callinfo.Info
	method     string
	header     stream.Header
	trailer    stream.Header
	headerSent bool
	outcome    error
}

var _ stream.ServerStream = (*ttServerStream)(nil)

// ServeStream serves one ttstream call: it finds the method named by the
// request header (":path" "/Service/Method", the service being the IDL
// service name Kitex sends as "isn"), starts the call with the header's
// metainfo and metadata, runs the handler with the message stream, and
// ends the stream with a trailer frame: empty on success, business error
// keys for a status.BizError, or a Thrift EXCEPTION payload otherwise.
func (c ttCodec) ServeStream(raw stream.RawServerStream, d stream.Dispatcher) {
	ms, ok := raw.(msgStream)
	if !ok {
		raw.Reset(stream.CodeRefused)
		return
	}
	ss := &ttServerStream{raw: raw, ms: ms, ctx: raw.Context()}
	h := raw.Header()
	svc, method, ok := splitTTPath(h.Get(":path"))
	ss.method = method
	if !ok {
		ss.finish(status.Errorf(status.Unimplemented, "ttstream: malformed path %q", h.Get(":path")))
		return
	}
	m, err := d.Lookup(svc, method)
	if err != nil {
		ss.finish(err)
		return
	}
	if mode := m.Info.StreamingMode; mode == service.StreamingNone || mode == service.StreamingUnary {
		ss.finish(ApplicationError(UnknownMethod, "ttstream: "+method+" is not a streaming method"))
		return
	}
	ctx := metainfo.FromWire(raw.Context(), headerStrs(h))
	// The call's backward values: a server call's Info holds them; a
	// dispatcher that makes none gets a collector of its own.
	ctx = metainfo.ServerBackwardValues(d.Start(ctx, m))
	if ss.ci = callinfo.From(ctx); ss.ci != nil {
		ss.ci.Codec = c.Name()
		for _, f := range h {
			if !reservedTTKey(f.Name) {
				ss.ci.Request.Set(f.Name, f.Value)
			}
		}
	}
	ss.ctx = ctx
	defer func() { d.Finish(ctx, ss.outcome) }()
	ss.finish(d.Invoke(ctx, m, ss, nil))
}

// splitTTPath splits "/svc/method".
func splitTTPath(p string) (svc, method string, ok bool) {
	if len(p) < 2 || p[0] != '/' {
		return "", "", false
	}
	p = p[1:]
	i := strings.LastIndexByte(p, '/')
	if i < 0 || i == len(p)-1 {
		return "", "", false
	}
	return p[:i], p[i+1:], true
}

// reservedTTKey reports whether a header key is the protocol's own
// (pseudo-headers, content type, routing, metainfo, business errors) and
// so not the call's metadata.
func reservedTTKey(k string) bool {
	if k == "" || k[0] == ':' {
		return true
	}
	switch k {
	case "content-type", keyIDLService, keyBizStatus, keyBizMessage, keyBizExtra, "crrst", "ttscp":
		return true
	}
	return strings.HasPrefix(k, "RPC_") || strings.HasPrefix(k, "rpc_")
}

func headerStrs(h stream.Header) []codec.StrKV {
	var out []codec.StrKV
	for _, f := range h {
		if strings.HasPrefix(f.Name, "RPC_") {
			out = append(out, codec.StrKV{Key: f.Name, Value: f.Value})
		}
	}
	return out
}

// finish ends the stream with the outcome err.
func (ss *ttServerStream) finish(err error) {
	ss.outcome = err
	rctx := ss.raw.Context()
	if rctx.Err() != nil {
		if !errors.Is(context.Cause(rctx), stream.ErrServerStopping) {
			ss.raw.Reset(stream.CodeCancel) // the client is gone
			return
		}
		err = status.New(status.Unavailable, "ttstream: the server is shutting down").WithTypeID(ttTransportClosing)
		ss.outcome = err
	}
	tr := append(stream.Header(nil), ss.trailer...)
	if !ss.headerSent {
		tr = append(tr, ss.header...)
		tr = ss.appendCarrier(tr)
	}
	for _, kv := range metainfo.AppendBackwardWire(ss.ctx, nil) {
		tr = append(tr, stream.Field{Name: kv.Key, Value: kv.Value})
	}
	var payload []byte
	var be *status.BizError
	switch {
	case err == nil:
	case errors.As(err, &be):
		tr = append(tr, stream.Field{Name: keyBizStatus, Value: strconv.Itoa(int(be.Code))},
			stream.Field{Name: keyBizMessage, Value: be.Message})
		if len(be.Extra) > 0 {
			if b, jerr := json.Marshal(be.Extra); jerr == nil {
				tr = append(tr, stream.Field{Name: keyBizExtra, Value: string(b)})
			}
		}
	default:
		payload = appendExceptionMessage(nil, ss.method, status.Convert(err))
	}
	pc, ok := ss.raw.(payloadCloser)
	var cerr error
	if ok {
		cerr = pc.CloseWithPayload(tr, payload)
	} else {
		cerr = ss.raw.Close(tr)
	}
	if cerr != nil {
		ss.raw.Reset(stream.CodeInternal)
	}
}

// appendExceptionMessage appends a Thrift EXCEPTION message for err, as
// Kitex puts it in a trailer frame (sequence id 0: Kitex readers ignore
// it).
func appendExceptionMessage(b []byte, method string, err *status.Error) []byte {
	b = binary.BigEndian.AppendUint32(b, 0x80010000|uint32(codec.Exception))
	b = AppendString(b, method)
	b = AppendI32(b, 0)
	return appendException(b, err)
}

// readExceptionMessage decodes a Thrift EXCEPTION message.
func readExceptionMessage(b []byte) (*status.Error, error) {
	if len(b) < 12 {
		return nil, status.Protocolf("thrift: exception payload of %d bytes", len(b))
	}
	t, nl, err := parseHeader(b)
	if err != nil {
		return nil, err
	}
	if t != codec.Exception {
		return nil, status.Protocolf("thrift: trailer payload is a message of type %d, not an exception", t)
	}
	if 12+nl > len(b) {
		return nil, status.Protocolf("thrift: exception method name runs past the payload")
	}
	return readException(b[12+nl:])
}

func (ss *ttServerStream) appendCarrier(h stream.Header) stream.Header {
	if ss.ci == nil || ss.ci.Response.Len() == 0 {
		return h
	}
	ss.ci.Response.Range(func(k, v string) bool {
		if !reservedTTKey(k) {
			h = append(h, stream.Field{Name: k, Value: v})
		}
		return true
	})
	return h
}

// Context returns the handler's context, done when the client cancels.
func (ss *ttServerStream) Context() context.Context { return ss.ctx }

// SendMsg sends one response struct as one data frame.
func (ss *ttServerStream) SendMsg(m any) error {
	if !ss.headerSent {
		if err := ss.sendHeader(); err != nil {
			return err
		}
	}
	n, err := writeStruct(ss.ms, m)
	if ss.ci != nil {
		ss.ci.Stats.SendSize += n
	}
	if err != nil {
		var se *status.Error
		if errors.As(err, &se) && n == 0 {
			return err // encoding failed
		}
		return ss.ioErr(err)
	}
	return nil
}

// RecvMsg receives one request struct into m; io.EOF once the client
// closed its side.
func (ss *ttServerStream) RecvMsg(m any) error {
	b, err := ss.ms.ReadMsg()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		return ss.ioErr(err)
	}
	if ss.ci != nil {
		ss.ci.Stats.RecvSize += len(b)
	}
	_, err = readStruct(b, m)
	return err
}

func (ss *ttServerStream) ioErr(err error) error {
	if ss.raw.Context().Err() != nil {
		return status.Wrap(status.ErrCanceled, "ttstream: the client canceled the stream", err)
	}
	var se *status.Error
	if errors.As(err, &se) {
		return err
	}
	return status.Errorf(status.Unavailable, "ttstream: stream: %v", err)
}

// SetHeader adds fields to the response header frame.
func (ss *ttServerStream) SetHeader(h stream.Header) error {
	if ss.headerSent {
		return status.New(status.Internal, "ttstream: SetHeader called after the header was sent")
	}
	ss.header = append(ss.header, h...)
	return nil
}

// SendHeader sends the response header frame now, with h added.
func (ss *ttServerStream) SendHeader(h stream.Header) error {
	if err := ss.SetHeader(h); err != nil {
		return err
	}
	return ss.sendHeader()
}

func (ss *ttServerStream) sendHeader() error {
	ss.headerSent = true
	h := ss.appendCarrier(append(stream.Header(nil), ss.header...))
	if err := ss.raw.WriteHeader(h); err != nil {
		return ss.ioErr(err)
	}
	return nil
}

// SetTrailer adds fields to the trailer frame.
func (ss *ttServerStream) SetTrailer(h stream.Header) { ss.trailer = append(ss.trailer, h...) }

// ---- client ----

type ttClientStream struct {
	raw stream.RawClientStream
	ms  msgStream
	ctx context.Context
	at  *callinfo.Attempt

	hdrOnce sync.Once
	hdr     stream.Header
	hdrErr  error
	done    error // the stream's end, once RecvMsg saw it
}

var _ stream.ClientStream = (*ttClientStream)(nil)

// NewClientStream opens a ttstream stream for method of svc: the header
// frame names the IDL service ("isn") and method, and carries the call's
// metadata (callinfo.Info.Request) and the context's metainfo.
func (c ttCodec) NewClientStream(ctx context.Context, cc stream.ClientConn, svc *service.Info, method string) (stream.ClientStream, error) {
	h := stream.Header{{Name: ":path", Value: "/" + svc.Name + "/" + method}, {Name: "content-type", Value: ContentTypeTTStream}}
	if ci := callinfo.From(ctx); ci != nil {
		ci.Request.Range(func(k, v string) bool {
			if !reservedTTKey(k) {
				h = append(h, stream.Field{Name: k, Value: v})
			}
			return true
		})
	}
	for _, kv := range metainfo.AppendWire(ctx, nil) {
		h = append(h, stream.Field{Name: kv.Key, Value: kv.Value})
	}
	raw, err := cc.NewStream(ctx, h)
	if err != nil {
		return nil, err
	}
	ms, ok := raw.(msgStream)
	if !ok {
		raw.Reset(stream.CodeCancel)
		return nil, status.New(status.Internal, "ttstream-thrift: the stream transport is not ttstream (use transport-ttheader's TTStream)")
	}
	if ci := callinfo.From(ctx); ci != nil {
		ci.Codec = c.Name()
	}
	return &ttClientStream{raw: raw, ms: ms, ctx: ctx, at: callinfo.AttemptFrom(ctx)}, nil
}

// Context returns the context the stream was opened with.
func (cs *ttClientStream) Context() context.Context { return cs.ctx }

// SendMsg sends one request struct as one data frame.
func (cs *ttClientStream) SendMsg(m any) error {
	n, err := writeStruct(cs.ms, m)
	if cs.at != nil {
		cs.at.Stats.SendSize += n
	}
	if err != nil {
		if n == 0 {
			return err // encoding failed
		}
		return cs.streamErr(err)
	}
	return nil
}

// RecvMsg receives one response struct into m: io.EOF when the server
// ended the stream with success, a *status.BizError for a business error
// in the trailer, a remote *status.Error for an exception in the trailer,
// otherwise the stream's error.
func (cs *ttClientStream) RecvMsg(m any) error {
	if cs.done != nil {
		return cs.done
	}
	b, err := cs.ms.ReadMsg()
	if err != nil {
		cs.done = cs.end(err)
		return cs.done
	}
	if cs.at != nil {
		cs.at.Stats.RecvSize += len(b)
	}
	_, err = readStruct(b, m)
	return err
}

// end returns what the end of the stream means to the caller.
func (cs *ttClientStream) end(err error) error {
	if !errors.Is(err, io.EOF) {
		return cs.streamErr(err)
	}
	tr := cs.raw.Trailer()
	var back []codec.StrKV
	for _, f := range tr {
		if !reservedTTKey(f.Name) {
			back = append(back, codec.StrKV{Key: metainfo.PrefixBackward + f.Name, Value: f.Value})
			if cs.at != nil {
				cs.at.Response.Set(f.Name, f.Value)
			}
		} else if strings.HasPrefix(f.Name, metainfo.PrefixBackward) {
			back = append(back, codec.StrKV{Key: f.Name, Value: f.Value})
		}
	}
	if len(back) > 0 {
		metainfo.SetBackwardValuesFromWire(cs.ctx, back)
	}
	if tp, ok := cs.raw.(trailerPayloader); ok {
		if p := tp.TrailerPayload(); len(p) > 0 {
			se, perr := readExceptionMessage(p)
			if perr != nil {
				return perr
			}
			return ttStatus(se)
		}
	}
	if code := tr.Get(keyBizStatus); code != "" {
		n, perr := strconv.ParseInt(code, 10, 32)
		if perr != nil {
			return status.Protocolf("ttstream: bad %s %q", keyBizStatus, code)
		}
		be := &status.BizError{Code: int32(n), Message: tr.Get(keyBizMessage)}
		if extra := tr.Get(keyBizExtra); extra != "" {
			if jerr := json.Unmarshal([]byte(extra), &be.Extra); jerr != nil {
				return status.Protocolf("ttstream: bad %s: %v", keyBizExtra, jerr)
			}
		}
		return be
	}
	return io.EOF
}

// ttStatus gives Kitex's ttstream exception codes their status codes.
func ttStatus(se *status.Error) *status.Error {
	switch t := se.TypeID(); {
	case t == ttTransportClosing:
		return status.FromWire(status.Unavailable, status.KindRemote, t, se.Message())
	case t >= ttCancelFirst && t <= ttCancelLast:
		return status.FromWire(status.Canceled, status.KindRemote, t, se.Message())
	}
	return se
}

// streamErr maps a raw stream error.
func (cs *ttClientStream) streamErr(err error) error {
	if re, ok := err.(resetException); ok {
		if t, msg, ok := re.ResetException(); ok {
			return ttStatus(status.Exception(t, msg))
		}
	}
	var se *status.Error
	if errors.As(err, &se) {
		return err
	}
	if errors.Is(err, status.ErrCanceled) {
		return status.Wrap(status.ErrCanceled, "ttstream: stream canceled by the server", err)
	}
	return status.Wrap(status.ErrConnLost, "ttstream: stream failed", err)
}

// CloseSend ends the request side (an empty trailer frame).
func (cs *ttClientStream) CloseSend() error {
	if err := cs.raw.CloseSend(); err != nil {
		return cs.streamErr(err)
	}
	return nil
}

// Header waits for the response header.
func (cs *ttClientStream) Header() (stream.Header, error) {
	cs.hdrOnce.Do(func() {
		h, err := cs.raw.Header()
		if err != nil {
			cs.hdrErr = cs.streamErr(err)
			return
		}
		for _, f := range h {
			if f.Name != ":status" {
				cs.hdr = append(cs.hdr, f)
			}
		}
		if cs.at != nil {
			for _, f := range cs.hdr {
				if !reservedTTKey(f.Name) {
					cs.at.Response.Set(f.Name, f.Value)
				}
			}
		}
	})
	return cs.hdr, cs.hdrErr
}

// Trailer returns the trailer fields; valid after RecvMsg returned an
// error.
func (cs *ttClientStream) Trailer() stream.Header { return cs.raw.Trailer() }
