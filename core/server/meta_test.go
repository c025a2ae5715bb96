package server_test

import (
	"context"
	"encoding/binary"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/metainfo"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/status"
	"github.com/skiffrpc/skiff/core/transport"
)

// metaFramed is a test double of a header-carrying transport (the real one
// is transport-ttheader): a u32 frame length, 0xEE, a u16 count of string
// key/values (u16-length strings), then the message. It implements
// transport.MetaHandler the way a real one would.
type metaFramed struct{}

func (metaFramed) Name() string { return "metaframed" }

func (metaFramed) Detect(p []byte) bool { return len(p) > 4 && p[4] == 0xEE }

func (metaFramed) ReadMessage(r transport.Reader, msg *codec.Message, max int) ([]byte, error) {
	h, err := r.Next(4)
	if err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(h))
	if err := transport.CheckFrameSize(int64(n), max); err != nil {
		return nil, err
	}
	b, err := r.Next(n)
	if err != nil {
		return nil, err
	}
	cnt := int(binary.BigEndian.Uint16(b[1:]))
	b = b[3:]
	str := func() string {
		l := int(binary.BigEndian.Uint16(b))
		s := string(b[2 : 2+l])
		b = b[2+l:]
		return s
	}
	for i := 0; i < cnt; i++ {
		k := str()
		msg.Meta.Strs = append(msg.Meta.Strs, codec.StrKV{Key: k, Value: str()})
	}
	return b, nil
}

func (metaFramed) WriteMessage(w transport.Writer, msg *codec.Message, c codec.Codec) error {
	hdr := []byte{0, 0, 0, 0, 0xEE}
	hdr = binary.BigEndian.AppendUint16(hdr, uint16(len(msg.Meta.Strs)))
	for _, kv := range msg.Meta.Strs {
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(len(kv.Key)))
		hdr = append(hdr, kv.Key...)
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(len(kv.Value)))
		hdr = append(hdr, kv.Value...)
	}
	frame, err := transport.Encode(w, c, msg, len(hdr))
	if err != nil {
		return err
	}
	copy(frame, hdr)
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	return nil
}

func (metaFramed) ClientWriteMeta(ctx context.Context, msg *codec.Message) {
	msg.Meta.Strs = metainfo.AppendWire(ctx, msg.Meta.Strs)
	if d, ok := ctx.Deadline(); ok {
		msg.Meta.SetStr("timeout-ms", strconv.FormatInt(time.Until(d).Milliseconds(), 10))
	}
	if ci := callinfo.From(ctx); ci != nil && ci.RPCTimeout > 0 {
		msg.Meta.SetStr("timeout-ms", strconv.FormatInt(ci.RPCTimeout.Milliseconds(), 10))
	}
}

func (metaFramed) ClientReadMeta(ctx context.Context, msg *codec.Message) error {
	metainfo.SetBackwardValuesFromWire(ctx, msg.Meta.Strs)
	if code, ok := msg.Meta.Str("biz-status"); ok {
		n, _ := strconv.Atoi(code)
		m, _ := msg.Meta.Str("biz-message")
		return status.NewBizError(int32(n), m)
	}
	return nil
}

func (metaFramed) ServerReadMeta(ctx context.Context, msg *codec.Message) (context.Context, context.CancelFunc) {
	ctx = metainfo.WithBackwardValues(metainfo.FromWire(ctx, msg.Meta.Strs))
	if v, ok := msg.Meta.Str("timeout-ms"); ok {
		if ms, err := strconv.Atoi(v); err == nil {
			return context.WithTimeout(ctx, time.Duration(ms)*time.Millisecond)
		}
	}
	return ctx, nil
}

func (metaFramed) ServerWriteMeta(ctx context.Context, msg *codec.Message, err error) bool {
	msg.Meta.Strs = metainfo.AppendBackwardWire(ctx, msg.Meta.Strs)
	var be *status.BizError
	if errors.As(err, &be) {
		msg.Meta.SetStr("biz-status", strconv.Itoa(int(be.Code)))
		msg.Meta.SetStr("biz-message", be.Message)
		return true
	}
	return false
}

var _ transport.MetaHandler = metaFramed{}

// A → B → C over a header-carrying transport: a transient value reaches
// only B, a persistent one reaches C, a backward value from B reaches A,
// A's deadline bounds C, and a business error crosses intact.
func TestMetadataThreeHops(t *testing.T) {
	type seen struct {
		transient, persistent string
		deadline              time.Duration
	}
	cSeen := make(chan seen, 1)
	c := start(t, func(ctx context.Context, in []byte) ([]byte, error) {
		tv, _ := metainfo.GetValue(ctx, "tk")
		pv, _ := metainfo.GetPersistentValue(ctx, "pk")
		d, _ := ctx.Deadline()
		cSeen <- seen{tv, pv, time.Until(d)}
		if string(in) == "biz" {
			return nil, status.NewBizError(4001, "quota exceeded")
		}
		return in, nil
	}, server.WithTransports(metaFramed{}))
	var toC *client.Client
	bSeen := make(chan seen, 1)
	b := start(t, func(ctx context.Context, in []byte) ([]byte, error) {
		tv, _ := metainfo.GetValue(ctx, "tk")
		pv, _ := metainfo.GetPersistentValue(ctx, "pk")
		bSeen <- seen{transient: tv, persistent: pv}
		metainfo.SendBackwardValue(ctx, "from-b", "hello A")
		var out toycodec.Bytes
		err := toC.Call(ctx, "Echo", &toycodec.Bytes{B: in}, &out)
		return out.B, err
	}, server.WithTransports(metaFramed{}))
	toC = newClient(t, c.Addr().String(), client.WithTransport(metaFramed{}))
	toB := newClient(t, b.Addr().String(), client.WithTransport(metaFramed{}))

	ctx := metainfo.WithPersistentValue(metainfo.WithValue(context.Background(), "tk", "t"), "pk", "p")
	ctx = metainfo.WithBackwardValues(ctx)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var out toycodec.Bytes
	if err := toB.Call(ctx, "Echo", &toycodec.Bytes{B: []byte("x")}, &out); err != nil {
		t.Fatal(err)
	}
	if s := <-bSeen; s.transient != "t" || s.persistent != "p" {
		t.Fatalf("B saw %+v", s)
	}
	s := <-cSeen
	if s.transient != "" || s.persistent != "p" {
		t.Fatalf("C saw %+v: want no transient value and the persistent one", s)
	}
	if s.deadline <= 0 || s.deadline > 2*time.Second {
		t.Fatalf("C's deadline %v is not bounded by A's 2s", s.deadline)
	}
	if v, ok := metainfo.RecvBackwardValue(ctx, "from-b"); !ok || v != "hello A" {
		t.Fatalf("backward value at A: %q %v", v, ok)
	}
	err := toB.Call(ctx, "Echo", &toycodec.Bytes{B: []byte("biz")}, &out)
	<-bSeen
	<-cSeen
	var be *status.BizError
	if !errors.As(err, &be) || be.Code != 4001 || be.Message != "quota exceeded" {
		t.Fatalf("business error across two hops: %v", err)
	}
}
