package ttheader

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/metainfo"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/transport"
)

// Int keys of the INFO_INTKEYVALUE block that Skiff reads and writes, with
// Kitex's numbering.
const (
	KeyFromService uint16 = 3
	KeyToService   uint16 = 6
	KeyToMethod    uint16 = 9
	KeyRPCTimeout  uint16 = 12
	KeyFromMethod  uint16 = 20
	KeyMsgType     uint16 = 22
)

// maxTimeoutMS bounds a received RPC timeout (key 12) to 30 days.
const maxTimeoutMS = 30 * 24 * 3600 * 1000

// String keys of the INFO_KEYVALUE block that Skiff reads and writes.
const (
	// KeyIDLServiceName names the callee service, for routing on servers
	// that serve several.
	KeyIDLServiceName = "isn"
	// KeyBizStatus, KeyBizMessage and KeyBizExtra carry a business error
	// (status.BizError) on a reply; the extra map is JSON.
	KeyBizStatus  = "biz-status"
	KeyBizMessage = "biz-message"
	KeyBizExtra   = "biz-extra"
	// KeyConnReset on a reply asks the client to stop using the connection:
	// the server is shutting down (codec.Message.ConnReset).
	KeyConnReset = "crrst"
)

var _ transport.MetaHandler = (*Protocol)(nil)

// reservedKey reports whether a string key belongs to the protocol itself
// or to metainfo (RPC_ prefixed), so the call's metadata carrier neither
// sends nor receives it.
func reservedKey(k string) bool {
	switch k {
	case "", KeyIDLServiceName, KeyBizStatus, KeyBizMessage, KeyBizExtra, KeyConnReset:
		return true
	}
	return strings.HasPrefix(k, "RPC_") || strings.HasPrefix(k, "rpc_")
}

// appendCarrier writes the keys of md, a call's metadata carrier, as
// string keys, skipping reserved ones.
func appendCarrier(m *codec.Metadata, md *callinfo.Metadata) {
	if md.Len() == 0 {
		return
	}
	md.Range(func(k, v string) bool {
		if !reservedKey(k) {
			m.SetStr(k, v)
		}
		return true
	})
}

// fillCarrier sets the unreserved string keys of m in md.
func fillCarrier(md *callinfo.Metadata, m *codec.Metadata) {
	for _, kv := range m.Strs {
		if !reservedKey(kv.Key) {
			md.Set(kv.Key, kv.Value)
		}
	}
}

// ClientWriteMeta fills the header of a request: caller and callee service
// and method (int keys 3, 6, 9, 20), the message type (22), the time left
// for the call in milliseconds (12: the smaller of the RPC timeout and the
// context deadline), the callee service name for routing (isn), the call's
// request metadata (callinfo.Info.Request, unreserved keys) as string keys,
// and the context's metainfo (RPC_TRANSIT_ and RPC_PERSIST_ keys).
func (p *Protocol) ClientWriteMeta(ctx context.Context, msg *codec.Message) {
	m := &msg.Meta
	if ci := callinfo.From(ctx); ci != nil {
		if ci.Caller != "" {
			m.SetInt(KeyFromService, ci.Caller)
		}
		if ci.CallerMethod != "" {
			m.SetInt(KeyFromMethod, ci.CallerMethod)
		}
		if ci.Service != "" {
			m.SetInt(KeyToService, ci.Service)
			m.SetStr(KeyIDLServiceName, ci.Service)
		}
		m.SetInt(KeyToMethod, msg.Method)
		appendCarrier(m, &ci.Request)
		left, bounded := ci.RPCTimeout, ci.RPCTimeout > 0
		if d, ok := ctx.Deadline(); ok {
			if until := time.Until(d); !bounded || until < left {
				left, bounded = until, true
			}
		}
		if bounded {
			// A deadline that passed while the request waited to be
			// written still bounds it: the server gets the least budget
			// the key carries (1 ms), not none.
			ms := max(left.Milliseconds(), 1)
			m.SetInt(KeyRPCTimeout, strconv.FormatInt(ms, 10))
		}
	}
	m.SetInt(KeyMsgType, strconv.Itoa(int(msg.Type)))
	m.Strs = metainfo.AppendWire(ctx, m.Strs)
}

// ClientReadMeta applies a reply's header: backward metainfo values go to
// the collector of ctx (metainfo.WithBackwardValues), unreserved string keys
// to the attempt's reply metadata (callinfo.Attempt.Response; Kitex reads
// the same keys as backward values), and biz-status keys become the
// returned *status.BizError.
func (p *Protocol) ClientReadMeta(ctx context.Context, msg *codec.Message) error {
	if back := backwardFromReply(msg.Meta.Strs); len(back) > 0 {
		metainfo.SetBackwardValuesFromWire(ctx, back)
	}
	if at := callinfo.AttemptFrom(ctx); at != nil {
		fillCarrier(&at.Response, &msg.Meta)
	}
	code, ok := msg.Meta.Str(KeyBizStatus)
	if !ok {
		return nil
	}
	n, err := strconv.ParseInt(code, 10, 32)
	if err != nil {
		return status.Protocolf("ttheader: bad %s %q", KeyBizStatus, code)
	}
	be := &status.BizError{Code: int32(n)}
	be.Message, _ = msg.Meta.Str(KeyBizMessage)
	if extra, ok := msg.Meta.Str(KeyBizExtra); ok && extra != "" {
		if err := json.Unmarshal([]byte(extra), &be.Extra); err != nil {
			return status.Protocolf("ttheader: bad %s: %v", KeyBizExtra, err)
		}
	}
	return be
}

// ServerReadMeta applies a request's header: the caller's service and
// method go to the call info, unreserved string keys to its request
// metadata (callinfo.Info.Request), metainfo values to the context (transient
// ones for this hop only), backward values can be sent with
// metainfo.SendBackwardValue, and the caller's time budget (int key 12)
// becomes the handler context's deadline, counted from msg.Received (when
// the request arrived) when the server set it, else from now.
func (p *Protocol) ServerReadMeta(ctx context.Context, msg *codec.Message) (context.Context, context.CancelFunc) {
	m := &msg.Meta
	if ci := callinfo.From(ctx); ci != nil {
		ci.Caller, _ = m.Int(KeyFromService)
		ci.CallerMethod, _ = m.Int(KeyFromMethod)
		fillCarrier(&ci.Request, m)
	}
	// A server call's Info holds its backward values; a runtime that
	// passes none gets a collector.
	ctx = metainfo.ServerBackwardValues(metainfo.FromWire(ctx, m.Strs))
	if v, ok := m.Int(KeyRPCTimeout); ok {
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil && ms > 0 {
			// Bound absurd values so the duration cannot overflow.
			d := time.Duration(min(ms, maxTimeoutMS)) * time.Millisecond
			if !msg.Received.IsZero() {
				// The budget counts from the request's arrival: time
				// it spent waiting to be read or to run is spent.
				return context.WithDeadline(ctx, msg.Received.Add(d))
			}
			return context.WithTimeout(ctx, d)
		}
	}
	return ctx, nil
}

// ServerWriteMeta fills a reply's header: the message type, backward
// metainfo values, the call's reply metadata (callinfo.Info.Response,
// unreserved keys), and, when err is a *status.BizError, its code, message
// and extra map; it then reports true, and the reply is sent as a normal
// reply with the error in the header, as Kitex does.
func (p *Protocol) ServerWriteMeta(ctx context.Context, msg *codec.Message, err error) bool {
	m := &msg.Meta
	// Kitex v0.15.2 sends backward values under their bare keys (and reads
	// every unreserved reply key as one), not under RPC_BACKWARD_.
	n := len(m.Strs)
	m.Strs = metainfo.AppendBackwardWire(ctx, m.Strs)
	for i := n; i < len(m.Strs); i++ {
		m.Strs[i].Key = strings.TrimPrefix(m.Strs[i].Key, metainfo.PrefixBackward)
	}
	if ci := callinfo.From(ctx); ci != nil {
		appendCarrier(m, &ci.Response)
	}
	if err == nil {
		return false // (before errors.As, whose target escapes)
	}
	var be *status.BizError
	if !errors.As(err, &be) {
		return false
	}
	m.SetStr(KeyBizStatus, strconv.Itoa(int(be.Code)))
	m.SetStr(KeyBizMessage, be.Message)
	if len(be.Extra) > 0 {
		if b, jerr := json.Marshal(be.Extra); jerr == nil {
			m.SetStr(KeyBizExtra, string(b))
		}
	}
	return true
}

// backwardFromReply returns the backward metainfo values of a reply's
// string keys, prefixed as metainfo expects: every key that is not one of
// the reserved ones (isn, biz-*, crrst, RPC_ prefixed metainfo) is a
// backward value, as Kitex writes them; RPC_BACKWARD_ keys are accepted
// too.
func backwardFromReply(kvs []codec.StrKV) []codec.StrKV {
	var out []codec.StrKV
	for _, kv := range kvs {
		switch {
		case strings.HasPrefix(kv.Key, metainfo.PrefixBackward):
			out = append(out, kv)
		case kv.Key == KeyIDLServiceName, kv.Key == KeyBizStatus, kv.Key == KeyBizMessage,
			kv.Key == KeyBizExtra, kv.Key == KeyConnReset, strings.HasPrefix(kv.Key, "RPC_"), kv.Key == "":
		default:
			out = append(out, codec.StrKV{Key: metainfo.PrefixBackward + kv.Key, Value: kv.Value})
		}
	}
	return out
}
