package ttheader_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/examples/echo"
	ttheader "github.com/skiffrpc/skiff/transport-ttheader"
)

// frame builds a TTHeader frame: header-size words, the info area and the
// payload, with LENGTH computed unless length is not zero.
func frame(length uint32, words uint16, info, payload []byte) []byte {
	b := make([]byte, 4, 14+len(info)+len(payload))
	b = append(b, 0x10, 0x00, 0, 0, 0, 0, 0, 1)
	b = binary.BigEndian.AppendUint16(b, words)
	b = append(b, info...)
	b = append(b, payload...)
	if length == 0 {
		length = uint32(len(b) - 4)
	}
	binary.BigEndian.PutUint32(b, length)
	return b
}

// Bad TTHeader frames close only their own connection.
func TestBadFrames(t *testing.T) {
	addr := start(t, hopHandler{echoBack})
	healthy := dial(t, addr, client.WithTransport(ttheader.TTHeaderFramed))
	call := []byte{0x80, 0x01, 0x00, 0x01, 0, 0, 0, 4, 'E', 'c', 'h', 'o', 0, 0, 0, 1, 0}
	cases := map[string][]byte{
		"header size past the frame": frame(0, 200, []byte{0, 0, 0, 0}, call),
		"unknown info id":            frame(0, 2, []byte{0, 0, 0x42, 0, 0, 0, 0, 0}, call),
		"key length past the header": frame(0, 2, []byte{0, 0, 0x01, 0, 1, 0xff, 0xff, 0}, call),
		"frame over the limit":       frame(64<<20, 1, []byte{0, 0, 0, 0}, call),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(in); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := io.ReadAll(c); err != nil {
				t.Fatalf("connection not closed: %v", err)
			}
			if _, err := healthy.Echo(context.Background(), &echo.EchoRequest{Message: "ok"}); err != nil {
				t.Fatalf("healthy client: %v", err)
			}
		})
	}
}
