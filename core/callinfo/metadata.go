package callinfo

import (
	"strings"

	"github.com/skiffrpc/skiff/core/codec"
)

// Metadata is the protocol-neutral metadata of a call: string keys and
// values that travel with a request or a reply on every protocol with
// headers. TTHeader carries them as string keys, HTTP/2 (gRPC) as header
// fields. Trace context (traceparent, baggage), caller identity and retry
// markers ride on it.
//
// Keys are case-insensitive and stored in lower case, as HTTP/2 requires.
// A transport leaves out keys it reserves for itself (TTHeader's isn,
// crrst, biz-* and RPC_ prefixed metainfo keys; gRPC's pseudo-headers,
// grpc-* and content-type); keys ending in "-bin" carry binary values
// base64-encoded on gRPC.
//
// The zero value is empty and ready to use. A Metadata is not safe for
// concurrent use: on the client, set request keys in middleware before the
// call reaches the balancer; on the server, set reply keys before the
// handler returns (gRPC: before the first response message).
type Metadata struct {
	kvs []codec.StrKV
}

// Get returns the value of key k.
func (m *Metadata) Get(k string) (string, bool) {
	for i := range m.kvs {
		if m.kvs[i].Key == k {
			return m.kvs[i].Value, true
		}
	}
	if lk := lower(k); lk != k {
		return m.Get(lk)
	}
	return "", false
}

// Set sets key k (stored in lower case) to v, replacing an earlier value.
// An empty key is ignored.
func (m *Metadata) Set(k, v string) {
	if k == "" {
		return
	}
	k = lower(k)
	for i := range m.kvs {
		if m.kvs[i].Key == k {
			m.kvs[i].Value = v
			return
		}
	}
	m.kvs = append(m.kvs, codec.StrKV{Key: k, Value: v})
}

// Delete removes key k.
func (m *Metadata) Delete(k string) {
	k = lower(k)
	for i := range m.kvs {
		if m.kvs[i].Key == k {
			m.kvs = append(m.kvs[:i], m.kvs[i+1:]...)
			return
		}
	}
}

// Range calls f for each key and value in the order they were set, until
// f returns false.
func (m *Metadata) Range(f func(k, v string) bool) {
	for _, kv := range m.kvs {
		if !f(kv.Key, kv.Value) {
			return
		}
	}
}

// Len returns the number of keys.
func (m *Metadata) Len() int { return len(m.kvs) }

// lower returns s in ASCII lower case, without allocating when it already
// is.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
