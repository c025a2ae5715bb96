package grpccodec

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/stream"
)

// Trailer and header names of gRPC status and of Kitex business errors.
const (
	hdrStatus    = "grpc-status"
	hdrKind      = "skiff-kind" // "overload" for a limiter's rejection
	kindOverload = "overload"
	hdrMessage   = "grpc-message"
	hdrDetails   = "grpc-status-details-bin"
	hdrBizStatus = "biz-status"
	hdrBizExtra  = "biz-extra"
)

// detailsError is a *status.Error with google.rpc.Status details.
type detailsError struct {
	st      *status.Error
	details []*anypb.Any
}

func (e *detailsError) Error() string { return e.st.Error() }
func (e *detailsError) Unwrap() error { return e.st }

// WithDetails returns err with details attached; a server sends them in
// grpc-status-details-bin (a google.rpc.Status) and a Skiff client returns
// them from [Details]. A detail that cannot be marshaled is skipped.
func WithDetails(err *status.Error, details ...proto.Message) error {
	de := &detailsError{st: err}
	for _, d := range details {
		if a, ok := d.(*anypb.Any); ok {
			de.details = append(de.details, a)
			continue
		}
		a, aerr := anypb.New(d)
		if aerr == nil {
			de.details = append(de.details, a)
		}
	}
	return de
}

// Details returns the google.rpc.Status details carried by err, or nil.
func Details(err error) []*anypb.Any {
	var de *detailsError
	if errors.As(err, &de) {
		return de.details
	}
	return nil
}

// statusOf returns the gRPC code and message for a handler's error.
func statusOf(err error) (status.Code, string) {
	var se *status.Error
	if errors.As(err, &se) {
		if se.Code() == status.OK {
			return status.Unknown, se.Message()
		}
		return se.Code(), se.Message()
	}
	var be *status.BizError
	if errors.As(err, &be) {
		return status.Internal, be.Message
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.DeadlineExceeded, err.Error()
	case errors.Is(err, context.Canceled):
		return status.Canceled, err.Error()
	}
	return status.Unknown, err.Error()
}

// appendStatus appends the status fields for err (nil means OK) to h.
func appendStatus(h stream.Header, err error) stream.Header {
	if err == nil {
		return append(h, stream.Field{Name: hdrStatus, Value: "0"})
	}
	code, msg := statusOf(err)
	h = append(h, stream.Field{Name: hdrStatus, Value: strconv.FormatUint(uint64(code), 10)})
	if se := (*status.Error)(nil); errors.As(err, &se) && se.WireKind() == status.KindOverload {
		// RESOURCE_EXHAUSTED alone cannot tell a limiter's rejection from
		// a handler's quota error; Skiff clients read this key.
		h = append(h, stream.Field{Name: hdrKind, Value: kindOverload})
	}
	if msg != "" {
		h = append(h, stream.Field{Name: hdrMessage, Value: EncodeStatusMessage(msg)})
	}
	if ds := Details(err); len(ds) > 0 {
		b := appendRPCStatus(nil, code, msg, ds)
		h = append(h, stream.Field{Name: hdrDetails, Value: base64.StdEncoding.EncodeToString(b)})
	}
	var be *status.BizError
	if errors.As(err, &be) {
		h = append(h, stream.Field{Name: hdrBizStatus, Value: strconv.Itoa(int(be.Code))})
		if len(be.Extra) > 0 {
			if b, jerr := json.Marshal(be.Extra); jerr == nil && validValue(string(b)) {
				h = append(h, stream.Field{Name: hdrBizExtra, Value: string(b)})
			}
		}
	}
	return h
}

// appendRPCStatus appends a google.rpc.Status: code (1), message (2),
// details (3, google.protobuf.Any).
func appendRPCStatus(b []byte, code status.Code, msg string, details []*anypb.Any) []byte {
	if code != 0 {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(code))
	}
	if msg != "" {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, msg)
	}
	for _, d := range details {
		var a []byte
		if d.TypeUrl != "" {
			a = protowire.AppendTag(a, 1, protowire.BytesType)
			a = protowire.AppendString(a, d.TypeUrl)
		}
		if len(d.Value) > 0 {
			a = protowire.AppendTag(a, 2, protowire.BytesType)
			a = protowire.AppendBytes(a, d.Value)
		}
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendBytes(b, a)
	}
	return b
}

// parseRPCStatus decodes the details of a google.rpc.Status. Unknown
// fields are skipped; malformed input gives ok false.
func parseRPCStatus(b []byte) (details []*anypb.Any, ok bool) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, false
		}
		b = b[n:]
		if num == 3 && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, false
			}
			b = b[n:]
			a, aok := parseAny(v)
			if !aok {
				return nil, false
			}
			details = append(details, a)
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return nil, false
		}
		b = b[n:]
	}
	return details, true
}

func parseAny(b []byte) (*anypb.Any, bool) {
	a := &anypb.Any{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, false
		}
		b = b[n:]
		if typ == protowire.BytesType && (num == 1 || num == 2) {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, false
			}
			b = b[n:]
			if num == 1 {
				a.TypeUrl = string(v)
			} else {
				a.Value = append([]byte(nil), v...)
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return nil, false
		}
		b = b[n:]
	}
	return a, true
}

// errorFromStatus returns the error a response's status fields (trailer,
// or header of a trailers-only response) describe: nil for OK, a
// *status.BizError when biz-status is present, otherwise a KindRemote
// *status.Error with the code and decoded message, with details when
// grpc-status-details-bin is present and well formed.
func errorFromStatus(h stream.Header) error {
	raw := h.Get(hdrStatus)
	if raw == "" {
		return status.Remote(status.Unknown, 0, "grpc: server sent no grpc-status")
	}
	n, perr := strconv.ParseUint(raw, 10, 32)
	if perr != nil {
		return status.Remote(status.Unknown, 0, "grpc: malformed grpc-status "+strconv.Quote(raw))
	}
	if bs := h.Get(hdrBizStatus); bs != "" {
		if c, err := strconv.ParseInt(bs, 10, 32); err == nil {
			be := &status.BizError{Code: int32(c), Message: DecodeStatusMessage(h.Get(hdrMessage))}
			if x := h.Get(hdrBizExtra); x != "" {
				_ = json.Unmarshal([]byte(x), &be.Extra)
			}
			return be
		}
	}
	code := status.Code(n)
	if code == status.OK {
		return nil
	}
	kind := status.KindNone
	if h.Get(hdrKind) == kindOverload {
		kind = status.KindOverload
	}
	se := status.FromWire(code, kind, 0, DecodeStatusMessage(h.Get(hdrMessage)))
	if d := h.Get(hdrDetails); d != "" {
		if b, ok := decodeBin(d); ok {
			if ds, ok := parseRPCStatus([]byte(b)); ok && len(ds) > 0 {
				return &detailsError{st: se, details: ds}
			}
		}
	}
	return se
}

// CodeFromHTTPStatus returns the gRPC code for an HTTP status of a
// response that is not a gRPC one, per gRPC's
// http-grpc-status-mapping.md: 400 Internal, 401 Unauthenticated, 403
// PermissionDenied, 404 Unimplemented, 429, 502, 503 and 504 Unavailable,
// anything else Unknown.
func CodeFromHTTPStatus(httpStatus int) status.Code {
	switch httpStatus {
	case 400:
		return status.Internal
	case 401:
		return status.Unauthenticated
	case 403:
		return status.PermissionDenied
	case 404:
		return status.Unimplemented
	case 429, 502, 503, 504:
		return status.Unavailable
	}
	return status.Unknown
}

// checkResponseHeader validates a response header block: :status 200 and
// a gRPC content type, unless it is a trailers-only response that carries
// grpc-status. It returns the error to end the call with, if any.
func checkResponseHeader(h stream.Header) error {
	st := h.Get(":status")
	if st != "" && st != "200" {
		code, err := strconv.Atoi(st)
		if err != nil {
			return status.Protocolf("grpc: malformed :status %q", st)
		}
		msg := "unexpected HTTP status code received from server: " + st
		if m := h.Get(hdrMessage); m != "" {
			msg += "; " + DecodeStatusMessage(m)
		}
		return status.Remote(CodeFromHTTPStatus(code), 0, msg)
	}
	if h.Get(hdrStatus) != "" {
		return nil // trailers-only
	}
	if _, ok := parseContentType(h.Get("content-type")); !ok {
		return status.Remote(status.Unknown, 0, "grpc: unexpected content-type "+strconv.Quote(h.Get("content-type")))
	}
	return nil
}
