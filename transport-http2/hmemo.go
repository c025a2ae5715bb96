package h2transport

import "golang.org/x/net/http2/hpack"

// hmemo remembers, for header fields recently encoded as a reference to
// the HPACK table, the bytes of that reference, so that the next block
// with the same field appends them instead of searching the static and
// dynamic tables again (two hashed map lookups per field in x/net's
// encoder). Calls send the same fields over and over (method, path,
// content type, status), so most fields of most blocks hit.
//
// A remembered reference stays right only while the dynamic table is
// unchanged: an indexed representation never changes it, so the memo
// keeps a generation that moves whenever the encoder inserted, evicted or
// resized (a literal with incremental indexing, or a table size update),
// and an entry of an older generation is a miss. It is guarded by the
// connection's wmu, like the encoder.
type hmemo struct {
	gen     uint64
	entries [hmemoSize]hmemoEntry
}

const (
	hmemoBits = 6
	hmemoSize = 1 << hmemoBits
)

type hmemoEntry struct {
	name, value string
	gen         uint64
	n           uint8   // 0: empty
	enc         [7]byte // an indexed representation: index < 2^35 fits
}

// slots picks two entries from the lengths and a few bytes of a field:
// cheap, and with two places per field the few fields a connection sends
// on every call rarely push each other out. Equal fields always meet in
// the same slots; a collision is only a miss.
func (m *hmemo) slots(name, value string) (*hmemoEntry, *hmemoEntry) {
	h := uint32(len(name))<<24 ^ uint32(len(value))<<8
	if len(name) > 1 {
		h ^= uint32(name[1])<<16 ^ uint32(name[len(name)-1])
	}
	if len(value) > 0 {
		h ^= uint32(value[0])<<4 ^ uint32(value[len(value)-1])<<12
	}
	h *= 0x9e3779b1 // Fibonacci hashing: the top bits mix all of h
	return &m.entries[h>>(32-hmemoBits)], &m.entries[h>>(32-2*hmemoBits)&(hmemoSize-1)]
}

// holds reports whether e is a live entry for the field.
func (m *hmemo) holds(e *hmemoEntry, name, value string) bool {
	return e.n != 0 && e.gen == m.gen && e.name == name && e.value == value
}

// invalidate forgets every entry: the table changed, or is about to.
func (m *hmemo) invalidate() { m.gen++ }

// writeField encodes one field into c.hbuf, from the memo when it can.
func (c *conn) writeField(name, value string) {
	m := &c.hmemo
	a, b := m.slots(name, value)
	if m.holds(a, name, value) {
		c.hbuf.Write(a.enc[:a.n])
		return
	}
	if m.holds(b, name, value) {
		c.hbuf.Write(b.enc[:b.n])
		return
	}
	start := c.hbuf.Len()
	_ = c.henc.WriteField(hpack.HeaderField{Name: name, Value: value})
	out := c.hbuf.Bytes()[start:]
	if len(out) == 0 {
		return
	}
	switch r := out[0]; {
	case r&0x80 != 0: // indexed: the table did not change
		e := a
		if a.n != 0 && a.gen == m.gen {
			e = b // a holds another live field
		}
		if len(out) <= len(e.enc) {
			e.name, e.value, e.gen, e.n = name, value, m.gen, uint8(len(out))
			copy(e.enc[:], out)
		}
	case r&0xc0 == 0x40, r&0xe0 == 0x20:
		// Inserted (with incremental indexing) or resized (a table size
		// update comes first in a block): every remembered index may
		// have moved.
		m.invalidate()
	}
	// Literals without indexing or never indexed leave the table alone.
}
