package h2transport

import (
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/skiffrpc/skiff/core/stream"
)

// headerBlock is one decoded header block (HEADERS plus CONTINUATION).
type headerBlock struct {
	id        uint32
	end       bool          // END_STREAM
	fields    stream.Header // nil when truncated or invalid
	truncated bool          // over the header list size limit
	invalid   bool          // a malformed field (RFC 9113 section 8.2)
}

// get returns the value of the first field named name.
func (b *headerBlock) get(name string) string { return b.fields.Get(name) }

// headerDecoder decodes header blocks with one hpack decoder per
// connection, into a reused scratch list, so that a block costs one
// allocation (its final field list) once the dynamic table is warm.
type headerDecoder struct {
	dec        *hpack.Decoder
	limit      uint32
	server     bool
	scratch    stream.Header
	size       uint32
	truncated  bool
	invalid    bool
	sawRegular bool
}

func newHeaderDecoder(limit uint32, server bool) *headerDecoder {
	d := &headerDecoder{limit: limit, server: server}
	d.dec = hpack.NewDecoder(4096, d.emit)
	d.dec.SetMaxStringLength(int(limit))
	return d
}

func (d *headerDecoder) emit(hf hpack.HeaderField) {
	if d.truncated || d.invalid {
		return
	}
	d.size += hf.Size()
	if d.size > d.limit {
		d.truncated = true
		d.dec.SetEmitEnabled(false)
		return
	}
	if !validField(hf.Name, hf.Value, d.server, d.sawRegular) {
		d.invalid = true
		d.dec.SetEmitEnabled(false)
		return
	}
	if hf.Name[0] != ':' {
		d.sawRegular = true
	}
	d.scratch = append(d.scratch, stream.Field{Name: hf.Name, Value: hf.Value})
}

// validField checks one field: a lower-case token name, a value without
// NUL, CR or LF, no connection-specific field, known pseudo-headers before
// regular fields only.
func validField(name, value string, server, sawRegular bool) bool {
	if name == "" {
		return false
	}
	if name[0] == ':' {
		if sawRegular {
			return false
		}
		if server {
			switch name {
			case ":method", ":scheme", ":authority", ":path", ":protocol":
			default:
				return false
			}
		} else if name != ":status" {
			return false
		}
	} else {
		for i := 0; i < len(name); i++ {
			b := name[i]
			if b >= 0x80 || !tokenChar[b] || ('A' <= b && b <= 'Z') {
				return false
			}
		}
		if forbiddenField(name) || name == "te" && value != "trailers" {
			return false
		}
	}
	for i := 0; i < len(value); i++ {
		switch value[i] {
		case 0, '\r', '\n':
			return false
		}
	}
	return true
}

// tokenChar marks the characters of an RFC 9110 token.
var tokenChar = func() [128]bool {
	var t [128]bool
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// readHeaderBlock decodes the block f starts, reading its CONTINUATION
// frames. A block far over the limit ends the connection (as x/net does:
// more than twice the limit of encoded bytes).
func (c *conn) readHeaderBlock(f *http2.HeadersFrame) (headerBlock, error) {
	d := c.hdec
	b := headerBlock{id: f.StreamID, end: f.StreamEnded()}
	d.scratch = d.scratch[:0]
	d.size, d.truncated, d.invalid, d.sawRegular = 0, false, false, false
	d.dec.SetEmitEnabled(true)
	maxEncoded := 2*int(d.limit) + defaultFrameSize
	frag := f.HeaderBlockFragment()
	encoded := len(frag)
	ended := f.HeadersEnded()
	for {
		if encoded > maxEncoded {
			return b, connError{code: http2.ErrCodeProtocol, debug: "header block too large"}
		}
		if _, err := d.dec.Write(frag); err != nil {
			return b, connError{code: http2.ErrCodeCompression, debug: "hpack: " + err.Error()}
		}
		if ended {
			break
		}
		nf, err := c.fr.ReadFrame()
		if err != nil {
			return b, err
		}
		cf, ok := nf.(*http2.ContinuationFrame) // the Framer checks the order
		if !ok {
			return b, connError{code: http2.ErrCodeProtocol, debug: "expected CONTINUATION"}
		}
		frag = cf.HeaderBlockFragment()
		encoded += len(frag)
		ended = cf.HeadersEnded()
	}
	if err := d.dec.Close(); err != nil {
		return b, connError{code: http2.ErrCodeCompression, debug: "hpack: " + err.Error()}
	}
	b.truncated, b.invalid = d.truncated, d.invalid
	if !b.truncated && !b.invalid {
		b.fields = make(stream.Header, len(d.scratch))
		copy(b.fields, d.scratch)
	}
	clear(d.scratch)
	return b, nil
}
