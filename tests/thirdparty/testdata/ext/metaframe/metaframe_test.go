package metaframe_test

import (
	"testing"

	"example.com/skiffext/envcodec"
	"example.com/skiffext/metaframe"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/core/transport"
	"github.com/skiffrpc/skiff/core/transporttest"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

func newMsg() *codec.Message {
	m := &codec.Message{Type: codec.Call, SeqID: 5, Service: "Greeter", Method: "Hello", Payload: &envcodec.Bytes{B: []byte("bob")}}
	m.Meta.SetStr("x-skiffext-tenant", "acme")
	m.Meta.SetStr("traceparent", "00-abc-def-01")
	return m
}

// TestConformance runs core's transport kit on the protocol.
func TestConformance(t *testing.T) {
	transporttest.Run(t, metaframe.Protocol, envcodec.Codec, newMsg)
}

// TestCarriesMetadata: the service name and the metadata pairs come back.
func TestCarriesMetadata(t *testing.T) {
	b := transporttest.NewBuffer()
	if err := metaframe.Protocol.WriteMessage(b, newMsg(), envcodec.Codec); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	var m codec.Message
	if _, err := metaframe.Protocol.ReadMessage(b, &m, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Release(); err != nil { // overwrites the frame: the values must be copies
		t.Fatal(err)
	}
	if v, _ := m.Meta.Str("x-skiffext-tenant"); v != "acme" || m.Service != "Greeter" || len(m.Meta.Strs) != 2 {
		t.Fatalf("read back service %q, metadata %v", m.Service, m.Meta.Strs)
	}
}

// TestRegistered: servers sniff the protocol by default, and Framed does
// not claim its frames.
func TestRegistered(t *testing.T) {
	if transport.Lookup(metaframe.Name) == nil {
		t.Fatal("not registered")
	}
	b := transporttest.NewBuffer()
	if err := metaframe.Protocol.WriteMessage(b, newMsg(), envcodec.Codec); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	prefix := b.Bytes()[:transport.DetectLen]
	if transport.Framed.Detect(prefix) {
		t.Fatalf("transport.Framed claims a metaframe frame %x", prefix)
	}
}
