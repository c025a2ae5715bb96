package generic

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// HTTPRequest is the request of an HTTP generic call (ThriftHTTP): the
// parts of an HTTP request that api.* annotations map to the fields of the
// method's request struct.
type HTTPRequest struct {
	// Method is the HTTP method, such as "GET"; it selects, with Path,
	// the IDL method by its api.get, api.post, ... annotation.
	Method string
	// Path is the URL path, such as "/items/42"; api.path fields take the
	// segments the route names (":id", or "*rest" for the remainder).
	Path string
	// Query holds the api.query fields (list fields take every value, or
	// one comma-separated value).
	Query url.Values
	// Header holds the api.header fields, and api.cookie fields in its
	// Cookie lines.
	Header http.Header
	// Body is a JSON object holding the other fields, keyed by their
	// api.body name or else their field name (keys no field takes are
	// ignored); or, when a field is annotated api.raw_body, that field's
	// bytes.
	Body []byte
}

// NewHTTPRequest reads r (its body included) into an HTTPRequest.
func NewHTTPRequest(r *http.Request) (*HTTPRequest, error) {
	req := &HTTPRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header}
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		req.Body = b
	}
	return req, nil
}

// HTTPResponse is the response of an HTTP generic call.
type HTTPResponse struct {
	// StatusCode is the value of the api.http_code field of the response
	// struct, or 200.
	StatusCode int
	// Header holds the api.header fields of the response struct.
	Header http.Header
	// Body is the JSON of the other fields of the response struct (keyed
	// by api.body name or field name; api.none fields left out), or of
	// the response when it is not a struct.
	Body []byte
}

// Write writes the response to w, as JSON.
func (r *HTTPResponse) Write(w http.ResponseWriter) error {
	for k, vs := range r.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(r.StatusCode)
	_, err := w.Write(r.Body)
	return err
}

// ThriftHTTP is HTTP generic for Thrift, driven by Kitex's api.*
// annotations: Client.Call takes an *HTTPRequest (the method name may be
// "": the request's method and path select the IDL method by its api.get,
// api.post, api.put, api.delete or api.patch route) and returns an
// *HTTPResponse. The IDL method must take one struct argument. Request
// fields come from api.path, api.query, api.header, api.cookie,
// api.raw_body and api.body annotations, unannotated fields from the JSON
// body by name; values are converted as ThriftJSON reads them (a query
// value "12" is the number 12 for an integer field). A declared exception
// is returned as an *ExceptionError with its JSON.
func ThriftHTTP(idl *ThriftIDL, opts ...JSONOption) *Generic {
	j := &jsonForm{}
	for _, o := range opts {
		o(&j.opts)
	}
	return &Generic{name: "Thrift HTTP", codec: "thrift", thrift: idl, http: &httpForm{json: j}}
}

// httpForm converts HTTP requests and responses.
type httpForm struct {
	json *jsonForm
}

// routeEntry is one route of a service's method.
type routeEntry struct {
	m     *methodDesc
	r     httpRoute
	score int // literal segments: the more, the more specific
}

// routes returns the routes of methods, most specific first.
func routes(methods map[string]*methodDesc) []routeEntry {
	var out []routeEntry
	for _, m := range methods {
		for _, r := range m.routes {
			score := 0
			for _, s := range r.segs {
				if s[0] != ':' && s[0] != '*' {
					score++
				}
			}
			out = append(out, routeEntry{m: m, r: r, score: score})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].score != out[j].score {
			return out[i].score > out[j].score
		}
		return out[i].m.name < out[j].m.name
	})
	return out
}

// match reports whether path matches the route and returns its parameters.
func (r httpRoute) match(path string) (map[string]string, bool) {
	segs := splitPath(path)
	var params map[string]string
	for i, s := range r.segs {
		switch {
		case s[0] == '*':
			if params == nil {
				params = map[string]string{}
			}
			params[s[1:]] = strings.Join(segs[min(i, len(segs)):], "/")
			return params, true
		case i >= len(segs):
			return nil, false
		case s[0] == ':':
			if params == nil {
				params = map[string]string{}
			}
			v, err := url.PathUnescape(segs[i])
			if err != nil {
				return nil, false
			}
			params[s[1:]] = v
		case s != segs[i]:
			return nil, false
		}
	}
	return params, len(segs) == len(r.segs)
}

// route finds the method and path parameters of req.
func route(table []routeEntry, method string, methods map[string]*methodDesc, req *HTTPRequest) (*methodDesc, map[string]string, error) {
	if method != "" {
		m := methods[method]
		if m == nil {
			return nil, nil, &Error{Msg: "HTTP generic: no method " + method + " in the IDL"}
		}
		for _, r := range m.routes {
			if r.verb == req.Method {
				if p, ok := r.match(req.Path); ok {
					return m, p, nil
				}
			}
		}
		return m, nil, nil
	}
	for _, e := range table {
		if e.r.verb == req.Method {
			if p, ok := e.r.match(req.Path); ok {
				return e.m, p, nil
			}
		}
	}
	return nil, nil, &Error{Msg: "HTTP generic: no route for " + req.Method + " " + req.Path}
}

// encodeArgs builds the args struct of m from req.
func (h *httpForm) encodeArgs(m *methodDesc, req *HTTPRequest, params map[string]string, buf []byte) ([]byte, error) {
	if len(m.args.fields) != 1 || m.args.fields[0].typ.kind != kStruct {
		return nil, &Error{Msg: "HTTP generic: method " + m.name + " must take one struct argument"}
	}
	arg := m.args.fields[0]
	sd := arg.typ.st
	// Gather the body's values by key.
	var body map[string][]byte
	var raw *fieldDesc
	for _, f := range sd.fields {
		if _, ok := f.api["raw_body"]; ok {
			raw = f
		}
	}
	if raw == nil && len(strings.TrimSpace(string(req.Body))) > 0 {
		s := scanner{src: req.Body}
		if !s.consume('{') {
			return nil, &Error{Path: arg.name, Msg: "HTTP generic: the body is not a JSON object"}
		}
		body = map[string][]byte{}
		if !s.consume('}') {
			for {
				k, ok := s.str()
				if !ok || !s.consume(':') {
					return nil, &Error{Path: arg.name, Msg: "HTTP generic: malformed JSON body"}
				}
				key := string(k)
				s.peek()
				start := s.pos
				if !s.skip(0) {
					return nil, &Error{Path: arg.name + "." + key, Msg: "HTTP generic: malformed JSON body"}
				}
				body[key] = req.Body[start:s.pos]
				if s.consume('}') {
					break
				}
				if !s.consume(',') {
					return nil, &Error{Path: arg.name, Msg: "HTTP generic: malformed JSON body"}
				}
			}
		}
	}
	// Write the request struct as a JSON object, then convert it.
	obj := []byte{'{'}
	add := func(f *fieldDesc, frag []byte) {
		if len(obj) > 1 {
			obj = append(obj, ',')
		}
		obj = appendJSONString(obj, f.name)
		obj = append(obj, ':')
		obj = append(obj, frag...)
	}
	for _, f := range sd.fields {
		if _, ok := f.api["none"]; ok {
			continue
		}
		switch {
		case f == raw:
			if len(req.Body) > 0 {
				add(f, stringFragment(f.typ, string(req.Body)))
			}
		case f.api["path"] != "":
			if v, ok := params[f.api["path"]]; ok {
				add(f, stringFragment(f.typ, v))
			}
		case f.api["query"] != "":
			if vs := req.Query[f.api["query"]]; len(vs) > 0 {
				add(f, valuesFragment(f.typ, vs))
			}
		case f.api["header"] != "":
			if vs := req.Header.Values(f.api["header"]); len(vs) > 0 {
				add(f, valuesFragment(f.typ, vs))
			}
		case f.api["cookie"] != "":
			hr := http.Request{Header: req.Header}
			if c, err := hr.Cookie(f.api["cookie"]); err == nil {
				add(f, stringFragment(f.typ, c.Value))
			}
		default:
			key := f.name
			if k := f.api["body"]; k != "" {
				key = k
			}
			if v, ok := body[key]; ok {
				add(f, v)
			}
		}
	}
	obj = append(obj, '}')
	e := h.json.encoder(obj, buf)
	defer h.json.putEncoder(e)
	e.path.field(arg.name)
	e.out = append(e.out, tStruct)
	e.out = appendI16(e.out, arg.id)
	if err := e.structValue(sd, 0); err != nil {
		return nil, e.finish(err)
	}
	return append(e.out, tStop), nil
}

// stringFragment is the JSON of a string value from a URL, a header or a
// cookie, for a field of type t: numbers and booleans as they are when
// they read as such, else a JSON string (which the converter then accepts
// or rejects with the field's path).
func stringFragment(t *typeDesc, v string) []byte {
	switch t.kind {
	case kBool, kByte, kI16, kI32, kI64, kDouble, kEnum:
		s := scanner{src: []byte(v)}
		if s.skip(0) && s.peek() == 0 && (s.src[0] == '-' || s.src[0] >= '0' && s.src[0] <= '9' || v == "true" || v == "false") {
			return []byte(v)
		}
	case kBinary:
		return appendJSONString(nil, base64.StdEncoding.EncodeToString([]byte(v)))
	case kStruct, kMap:
		// JSON text, if it is one whole JSON value; else a string, which
		// the converter rejects with the field's path.
		s := scanner{src: []byte(v)}
		if s.skip(0) && s.peek() == 0 {
			return []byte(v)
		}
	case kList, kSet:
		return valuesFragment(t, strings.Split(v, ","))
	}
	return appendJSONString(nil, v)
}

// valuesFragment is the JSON of one or more values for a field of type t:
// a list takes them all (one value is split at commas), another type the
// first.
func valuesFragment(t *typeDesc, vs []string) []byte {
	if t.kind != kList && t.kind != kSet {
		return stringFragment(t, vs[0])
	}
	if len(vs) == 1 {
		vs = strings.Split(vs[0], ",")
	}
	out := []byte{'['}
	for i, v := range vs {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, stringFragment(t.elem, v)...)
	}
	return append(out, ']')
}

// decodeResult builds the HTTP response from the result struct raw.
func (h *httpForm) decodeResult(m *methodDesc, raw []byte) (*HTTPResponse, error) {
	v, err := h.json.decodeResult(m, raw)
	if err != nil {
		return nil, err
	}
	resp := &HTTPResponse{StatusCode: http.StatusOK, Header: http.Header{}}
	js := v.(string)
	if m.void {
		return resp, nil
	}
	if m.success.typ.kind != kStruct {
		resp.Body = []byte(js)
		return resp, nil
	}
	sd := m.success.typ.st
	s := scanner{src: []byte(js)}
	out := []byte{'{'}
	if !s.consume('{') {
		return nil, errors.New("generic: HTTP generic: the response is not an object")
	}
	if !s.consume('}') {
		for {
			k, _ := s.str()
			f := sd.byName[string(k)]
			s.consume(':')
			s.peek()
			start := s.pos
			s.skip(0)
			val := s.src[start:s.pos]
			switch {
			case f == nil:
			case f.api["header"] != "":
				resp.Header.Add(f.api["header"], fragmentText(val))
			case hasKey(f.api, "http_code"):
				if n, err := strconv.Atoi(string(val)); err == nil && n >= 100 && n <= 999 {
					resp.StatusCode = n
				}
			case hasKey(f.api, "none"):
			default:
				key := f.name
				if b := f.api["body"]; b != "" {
					key = b
				}
				if len(out) > 1 {
					out = append(out, ',')
				}
				out = appendJSONString(out, key)
				out = append(out, ':')
				out = append(out, val...)
			}
			if s.consume('}') {
				break
			}
			s.consume(',')
		}
	}
	resp.Body = append(out, '}')
	return resp, nil
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// fragmentText is the text of a JSON scalar for a header: a string
// unquoted, anything else as written.
func fragmentText(val []byte) string {
	if len(val) > 0 && val[0] == '"' {
		s := scanner{src: val}
		if b, ok := s.str(); ok {
			return string(b)
		}
	}
	return string(val)
}
