package client_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/internal/toycodec"
	"github.com/skiffrpc/skiff/core/status"
)

// fakeServer answers every framed request on its connections with
// reply(request payload); it stops when the test ends.
func fakeServer(t *testing.T, reply func(req []byte) []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for {
					var hdr [4]byte
					if _, err := io.ReadFull(c, hdr[:]); err != nil {
						return
					}
					req := make([]byte, binary.BigEndian.Uint32(hdr[:]))
					if _, err := io.ReadFull(c, req); err != nil {
						return
					}
					out := reply(req)
					if _, err := c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(out))), out...)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestBadReplies(t *testing.T) {
	// A toy request is 0xAB, type, u16 len, method, u32 seq, payload.
	mutate := map[string]func(req []byte) []byte{
		"wrong sequence id": func(req []byte) []byte {
			out := append([]byte(nil), req...)
			out[1] = 2
			out[4+4+3]++ // last byte of the sequence id of "Echo"
			return out
		},
		"unknown message type": func(req []byte) []byte {
			out := append([]byte(nil), req...)
			out[1] = 9
			return out
		},
		"wrong method name": func(req []byte) []byte {
			out := append([]byte(nil), req...)
			out[1], out[4] = 2, 'X'
			return out
		},
		"garbage": func([]byte) []byte { return []byte("garbage!") },
	}
	for name, f := range mutate {
		t.Run(name, func(t *testing.T) {
			addr := fakeServer(t, f)
			cli, _ := client.New(toycodec.Service(), client.WithHostPorts(addr))
			defer cli.Close()
			err := cli.Call(context.Background(), "Echo", &toycodec.Bytes{B: []byte("x")}, &toycodec.Bytes{})
			if !errors.Is(err, status.ErrProtocol) {
				t.Fatalf("want a protocol error, got %v", err)
			}
		})
	}
}
