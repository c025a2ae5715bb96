package stream

// Field is one header field. Names are lower case; pseudo-header names
// start with a colon (":path", ":status").
type Field struct {
	Name, Value string
}

// Header is an ordered list of header fields, as carried by one HTTP/2
// header block. Several fields may share a name.
type Header []Field

// Get returns the value of the first field named name, or "".
func (h Header) Get(name string) string {
	for i := range h {
		if h[i].Name == name {
			return h[i].Value
		}
	}
	return ""
}

// Values returns the values of every field named name, in order.
func (h Header) Values(name string) []string {
	var out []string
	for i := range h {
		if h[i].Name == name {
			out = append(out, h[i].Value)
		}
	}
	return out
}

// Add appends a field.
func (h *Header) Add(name, value string) {
	*h = append(*h, Field{Name: name, Value: value})
}

// Set replaces every field named name by one field with value.
func (h *Header) Set(name, value string) {
	h.Del(name)
	h.Add(name, value)
}

// Del removes every field named name.
func (h *Header) Del(name string) {
	out := (*h)[:0]
	for _, f := range *h {
		if f.Name != name {
			out = append(out, f)
		}
	}
	*h = out
}
