package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// The raw framework is the ceiling: plain net, a goroutine per connection,
// frames of a 4-byte big-endian length, an 8-byte seq and the body. The
// server echoes each frame with one read (buffered) and one write.

func serveRaw(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				return
			}
			go rawEcho(c)
		}
	}()
	return nil
}

func rawEcho(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 64<<10)
	buf := make([]byte, 4, 4<<10)
	for {
		if _, err := io.ReadFull(r, buf[:4]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(buf))
		if n > 64<<20 {
			return
		}
		if cap(buf) < 4+n {
			nb := make([]byte, 4+n)
			copy(nb, buf[:4])
			buf = nb
		}
		buf = buf[:4+n]
		if _, err := io.ReadFull(r, buf[4:]); err != nil {
			return
		}
		if _, err := c.Write(buf); err != nil {
			return
		}
	}
}

type rawConn struct {
	c   net.Conn
	r   *bufio.Reader
	buf []byte
}

// rawClient keeps a pool of connections, one per concurrent caller at most.
type rawClient struct {
	addr string
	pool chan *rawConn
}

func dialRaw(addr string, conc int) (client, error) {
	return &rawClient{addr: addr, pool: make(chan *rawConn, conc)}, nil
}

func (rc *rawClient) get() (*rawConn, error) {
	select {
	case c := <-rc.pool:
		return c, nil
	default:
	}
	c, err := net.DialTimeout("tcp", rc.addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &rawConn{c: c, r: bufio.NewReaderSize(c, 64<<10)}, nil
}

func (rc *rawClient) put(c *rawConn) {
	select {
	case rc.pool <- c:
	default:
		c.c.Close()
	}
}

func (rc *rawClient) call(body string, seq int64) (int, int64, error) {
	c, err := rc.get()
	if err != nil {
		return 0, 0, err
	}
	n := 8 + len(body)
	if cap(c.buf) < 4+n {
		c.buf = make([]byte, 4+n)
	}
	b := c.buf[:4+n]
	binary.BigEndian.PutUint32(b, uint32(n))
	binary.BigEndian.PutUint64(b[4:], uint64(seq))
	copy(b[12:], body)
	if _, err := c.c.Write(b); err != nil {
		c.c.Close()
		return 0, 0, err
	}
	if _, err := io.ReadFull(c.r, b[:4]); err != nil {
		c.c.Close()
		return 0, 0, err
	}
	m := int(binary.BigEndian.Uint32(b))
	if m != n {
		c.c.Close()
		return 0, 0, fmt.Errorf("raw: reply of %d bytes to a %d-byte request", m, n)
	}
	if _, err := io.ReadFull(c.r, b[:m]); err != nil {
		c.c.Close()
		return 0, 0, err
	}
	s := int64(binary.BigEndian.Uint64(b))
	rc.put(c)
	return m - 8, s, nil
}

func (rc *rawClient) close() {
	for {
		select {
		case c := <-rc.pool:
			c.c.Close()
		default:
			return
		}
	}
}
