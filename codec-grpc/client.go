package grpccodec

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/service"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

// requestHeader builds the request header block of a call: path, content
// type, te, user-agent, grpc-timeout (the smaller of the context's
// deadline and the call info's RPC timeout), encodings, the outgoing
// metadata and metainfo.
func (c *Codec) requestHeader(ctx context.Context, svc *service.Info, method string) (stream.Header, string, error) {
	sub := ""
	if svc.Codec == subtypeThrift {
		sub = subtypeThrift
	}
	h := make(stream.Header, 0, 8)
	h = append(h,
		stream.Field{Name: ":path", Value: c.path(svc, method)},
		stream.Field{Name: "content-type", Value: contentType(sub)},
		stream.Field{Name: "te", Value: "trailers"},
		stream.Field{Name: "user-agent", Value: c.userAgent},
	)
	var rpcTimeout = ctxRPCTimeout(ctx)
	if left, ok := deadlineLeft(ctx, rpcTimeout); ok {
		if left <= 0 {
			return nil, sub, status.Wrap(status.ErrTimeout, "grpc: the call's deadline passed before it started", context.DeadlineExceeded)
		}
		h = append(h, stream.Field{Name: "grpc-timeout", Value: EncodeTimeout(left)})
	}
	if c.compressor != "" {
		// Advertise gzip only when the client uses it: a Kitex v0.15.2
		// server answers in what grpc-accept-encoding lists and fails
		// unless its own gzip package is linked in.
		h = append(h, stream.Field{Name: "grpc-encoding", Value: c.compressor},
			stream.Field{Name: "grpc-accept-encoding", Value: acceptEncoding})
	}
	if md, ok := FromOutgoingContext(ctx); ok {
		var err error
		if h, err = appendWireMD(h, md.Header()); err != nil {
			return nil, sub, err
		}
	}
	if ci := callinfo.From(ctx); ci != nil {
		h = appendCarrier(h, &ci.Request)
	}
	h = appendMetainfo(ctx, h)
	return h, sub, nil
}

func ctxRPCTimeout(ctx context.Context) time.Duration {
	if ci := callinfo.From(ctx); ci != nil {
		return ci.RPCTimeout
	}
	return 0
}

// openErr maps an error of ClientConn.NewStream to a status error.
func openErr(ctx context.Context, err error) error {
	if e := ctxErr(ctx, err); e != nil {
		return e
	}
	var se *status.Error
	if errors.As(err, &se) {
		return err
	}
	return status.Wrap(status.ErrConnect, "grpc: cannot open a stream", err)
}

// ctxErr returns the status error for a context that ended, or nil.
func ctxErr(ctx context.Context, cause error) error {
	switch ctx.Err() {
	case nil:
		return nil
	case context.DeadlineExceeded:
		return status.Wrap(status.ErrTimeout, "grpc: context deadline exceeded", cause)
	}
	return status.Wrap(status.ErrCanceled, "grpc: context canceled", cause)
}

// clientStream is the client side of one gRPC call.
type clientStream struct {
	c       *Codec
	ctx     context.Context
	raw     stream.RawClientStream
	sub     string
	sendEnc string
	fr      FrameReader
	at      *callinfo.Attempt // the client attempt, for its stats and reply metadata; may be nil
	unary   bool              // a Unary call: one goroutine, stats written directly

	// A stream's sizes, counted atomically (SendMsg and RecvMsg may run on
	// two goroutines) and written to the attempt's stats when RecvMsg
	// returns the end of the stream.
	sent, recvd atomic.Int64

	hdrOnce      sync.Once
	header       stream.Header // decoded user metadata
	hdrErr       error         // a bad response header
	trailersOnly bool
	respHdr      *MD

	recvEnc string
	trailer stream.Header // decoded user metadata
	respTrl *MD
	done    error // io.EOF or the call's error, once RecvMsg saw the end
}

var _ stream.ClientStream = (*clientStream)(nil)

// NewClientStream opens a gRPC call for method of svc on cc. The request
// header carries the path ("/" + svc.FullName() + "/" + method), content
// type application/grpc (application/grpc+thrift when svc.Codec is
// "thrift"), grpc-timeout from ctx and the call info, the outgoing
// metadata and metainfo. The stream ends when ctx ends.
//
// SendMsg returns io.EOF when the server has ended the call; RecvMsg then
// returns the call's status. As in grpc-go, the stream holds its resources
// until RecvMsg has returned an error (io.EOF included) or ctx ends:
// callers that stop early must cancel ctx.
func (c *Codec) NewClientStream(ctx context.Context, cc stream.ClientConn, svc *service.Info, method string) (stream.ClientStream, error) {
	cs, err := c.open(ctx, cc, svc, method)
	if err != nil {
		return nil, err
	}
	return cs, nil
}

func (c *Codec) open(ctx context.Context, cc stream.ClientConn, svc *service.Info, method string) (*clientStream, error) {
	h, sub, err := c.requestHeader(ctx, svc, method)
	if err != nil {
		return nil, err
	}
	raw, err := cc.NewStream(ctx, h)
	if err != nil {
		return nil, openErr(ctx, err)
	}
	cs := &clientStream{c: c, ctx: ctx, raw: raw, sub: sub, sendEnc: c.compressor, at: callinfo.AttemptFrom(ctx)}
	cs.respHdr, _ = ctx.Value(respKey{false}).(*MD)
	cs.respTrl, _ = ctx.Value(respKey{true}).(*MD)
	cs.fr.reset(raw, c.maxRecv)
	return cs, nil
}

// Unary makes a unary call: one request message args, one response
// message decoded into result. Errors are *status.Error values (a
// *status.BizError for a Kitex business error).
func (c *Codec) Unary(ctx context.Context, cc stream.ClientConn, svc *service.Info, method string, args, result any) error {
	cs, err := c.open(ctx, cc, svc, method)
	if err != nil {
		return err
	}
	cs.unary = true
	defer cs.fr.release()
	// The request and the end of the request side leave in one flush.
	if err := cs.write(args); err != nil && err != io.EOF {
		cs.raw.Reset(stream.CodeCancel)
		return err
	}
	if err := cs.raw.CloseSend(); err != nil {
		if e := ctxErr(ctx, err); e != nil {
			return e
		}
	}
	if err := cs.RecvMsg(result); err != nil {
		if err == io.EOF {
			return status.New(status.Internal, "grpc: server ended a unary call without a response message")
		}
		return err
	}
	return cs.recvEnd()
}

// recvEnd reads the end of a call that must send no further message.
func (cs *clientStream) recvEnd() error {
	_, _, err := cs.fr.Next()
	if err == nil {
		return cs.end(status.New(status.Internal, "grpc: server sent more than one response message in a unary call"))
	}
	if err != io.EOF {
		return cs.end(cs.ioErr(err))
	}
	if e := cs.endStatus(); e != io.EOF {
		return e
	}
	return nil
}

// Context returns the context the stream was opened with.
func (cs *clientStream) Context() context.Context { return cs.ctx }

// SendMsg sends one request message. It returns io.EOF when the server
// has already ended the call (RecvMsg then returns the status), and the
// deadline or cancel error when ctx has ended.
func (cs *clientStream) SendMsg(m any) error {
	if e := ctxErr(cs.ctx, nil); e != nil {
		return e // ended locally: the transport's reset may still be on its way
	}
	if err := cs.write(m); err != nil {
		return err
	}
	if err := cs.raw.Flush(); err != nil {
		if e := ctxErr(cs.ctx, err); e != nil {
			return e
		}
		return io.EOF
	}
	return nil
}

// write encodes m as one message and writes it without flushing.
func (cs *clientStream) write(m any) error {
	bp := getBuf()
	frame, err := encodeFrame(*bp, m, cs.sub, cs.sendEnc)
	if err == nil {
		if cs.at != nil {
			if cs.unary {
				cs.at.Stats.SendSize += len(frame)
			} else {
				cs.sent.Add(int64(len(frame)))
			}
		}
		_, err = cs.raw.Write(frame)
		if err != nil {
			if e := ctxErr(cs.ctx, err); e != nil {
				err = e
			} else {
				err = io.EOF
			}
		}
	}
	*bp = frame[:0]
	putBuf(bp)
	return err
}

// CloseSend ends the request side.
func (cs *clientStream) CloseSend() error {
	if e := ctxErr(cs.ctx, nil); e != nil {
		return e
	}
	if err := cs.raw.CloseSend(); err != nil {
		if e := ctxErr(cs.ctx, err); e != nil {
			return e
		}
	}
	return nil
}

// Header waits for the response header and returns its metadata, values
// decoded. For a trailers-only response it returns the metadata of that
// block.
func (cs *clientStream) Header() (stream.Header, error) {
	cs.hdrOnce.Do(cs.readHeader)
	if cs.hdrErr != nil {
		return nil, cs.hdrErr
	}
	return cs.header, nil
}

func (cs *clientStream) readHeader() {
	h, err := cs.raw.Header()
	if err != nil {
		cs.hdrErr = cs.ioErr(err)
		return
	}
	if err := checkResponseHeader(h); err != nil {
		cs.hdrErr = err
		return
	}
	if h.Get(hdrStatus) != "" {
		cs.trailersOnly = true
	}
	switch enc := h.Get("grpc-encoding"); enc {
	case "", encodingIdentity:
	case encodingGzip:
		cs.recvEnc = enc
	default:
		cs.hdrErr = status.Errorf(status.Internal, "grpc: server sent unsupported grpc-encoding %q", enc)
		return
	}
	cs.header = userFields(h)
	if cs.respHdr != nil && !cs.trailersOnly {
		*cs.respHdr = FromHeader(cs.header)
	}
	if cs.at != nil {
		// Under hdrOnce: RecvMsg, which ends the stream for the tracers,
		// passes through it first.
		for _, f := range cs.header {
			cs.at.Response.Set(f.Name, f.Value)
		}
	}
}

// RecvMsg receives one response message into m; io.EOF when the server
// ended the call with OK, otherwise the call's error. At the end of a
// stream the attempt's stats get the stream's sizes.
func (cs *clientStream) RecvMsg(m any) error {
	err := cs.recvMsg(m)
	if err != nil && cs.at != nil && !cs.unary {
		cs.at.Stats.SendSize = int(cs.sent.Load())
		cs.at.Stats.RecvSize = int(cs.recvd.Load())
	}
	return err
}

func (cs *clientStream) recvMsg(m any) error {
	if cs.done != nil {
		return cs.done
	}
	if e := ctxErr(cs.ctx, nil); e != nil {
		return cs.end(e)
	}
	cs.hdrOnce.Do(cs.readHeader)
	if cs.hdrErr != nil {
		return cs.end(cs.hdrErr)
	}
	if cs.trailersOnly {
		h, _ := cs.raw.Header()
		return cs.finishStatus(h)
	}
	comp, p, err := cs.fr.Next()
	if err != nil {
		if err == io.EOF {
			return cs.endStatus()
		}
		return cs.end(cs.ioErr(err))
	}
	defer cs.fr.endLoan() // decoding copies what it keeps
	if cs.at != nil {
		if cs.unary {
			cs.at.Stats.RecvSize += FrameHeaderLen + len(p)
		} else {
			cs.recvd.Add(int64(FrameHeaderLen + len(p)))
		}
	}
	if comp {
		if cs.recvEnc == "" {
			return cs.end(status.New(status.Internal, "grpc: compressed flag set with identity or empty encoding"))
		}
		if p, err = gunzip(p, cs.c.maxRecv); err != nil {
			return cs.end(err)
		}
	}
	if err := decodePayload(p, m, cs.sub); err != nil {
		return cs.end(err)
	}
	return nil
}

// endStatus ends the call with the status of the trailer.
func (cs *clientStream) endStatus() error {
	tr := cs.raw.Trailer()
	if len(tr) == 0 {
		cs.done = ctxErr(cs.ctx, nil)
		if cs.done == nil {
			cs.done = status.Remote(status.Internal, 0, "grpc: server closed the stream without sending trailers")
		}
		cs.fr.release()
		return cs.done
	}
	return cs.finishStatus(tr)
}

// finishStatus ends the call with the status in block h (the trailer, or
// the header of a trailers-only response).
func (cs *clientStream) finishStatus(h stream.Header) error {
	cs.trailer = userFields(h)
	backwardFromTrailer(cs.ctx, h)
	if cs.respTrl != nil {
		*cs.respTrl = FromHeader(cs.trailer)
	}
	if cs.respHdr != nil && cs.trailersOnly {
		*cs.respHdr = MD{}
	}
	cs.done = errorFromStatus(h)
	if cs.done == nil {
		cs.done = io.EOF
	}
	cs.fr.release()
	return cs.done
}

// end ends the call with a local error and resets the stream.
func (cs *clientStream) end(err error) error {
	cs.done = err
	cs.raw.Reset(stream.CodeCancel)
	cs.fr.release()
	return err
}

// Trailer returns the response trailer metadata, values decoded; valid
// after RecvMsg returned an error.
func (cs *clientStream) Trailer() stream.Header { return cs.trailer }

// ioErr maps a raw stream error to a status error.
func (cs *clientStream) ioErr(err error) error {
	if e := ctxErr(cs.ctx, err); e != nil {
		return e
	}
	var se *status.Error
	if errors.As(err, &se) {
		if se.Code() == status.Canceled {
			// A reset with CANCEL once the deadline passed is most likely
			// the server giving up at the deadline (as grpc-go does).
			if d, ok := cs.ctx.Deadline(); ok && !time.Now().Before(d) {
				return status.Wrap(status.ErrTimeout, "grpc: context deadline exceeded", err)
			}
		}
		return err
	}
	return status.Errorf(status.Unavailable, "grpc: stream: %v", err)
}
