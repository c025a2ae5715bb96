package generic

import (
	"context"
	"fmt"
	"sync"

	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/codec"
	"github.com/skiffrpc/skiff/core/status"
)

// Client calls the methods of one service with generic requests and
// responses. It is safe for concurrent use.
type Client struct {
	cli     *client.Client
	g       *Generic
	name    string
	methods map[string]*methodDesc // Thrift, with an IDL
	routes  []routeEntry           // Thrift HTTP
	bufs    sync.Pool              // *[]byte request buffers
}

// NewClient returns a generic client of the named service, built with
// client.New and opts (address, transport, timeouts, middleware: every
// client option applies). For Thrift, service is the IDL service name
// ("" picks the main file's first service when g has an IDL); for
// protobuf, the full name "package.Service" (the gRPC path's). The codec
// is g's ("thrift" or "protobuf"); for gRPC give the stream transport and
// codec options as for a typed client.
func NewClient(service string, g *Generic, opts ...client.Option) (*Client, error) {
	info, err := g.serviceInfo(service)
	if err != nil {
		return nil, err
	}
	cli, err := client.New(info, opts...)
	if err != nil {
		return nil, err
	}
	c := &Client{cli: cli, g: g, name: info.FullName()}
	if g.thrift != nil {
		svc, _ := g.thrift.service(service)
		c.methods = svc.methods
		if g.http != nil {
			c.routes = routes(svc.methods)
		}
	}
	return c, nil
}

// Close closes the underlying client.
func (c *Client) Close() error { return c.cli.Close() }

// Client returns the underlying core client.
func (c *Client) Client() *client.Client { return c.cli }

// Call calls method with req and returns the response, in the forms of
// the client's Generic:
//
//   - ThriftBinary, ProtobufBinary: req is []byte (or codec.Raw), the
//     encoded args struct or request message; the response is the []byte
//     of the result struct or response message. A declared exception stays
//     inside the result struct.
//   - ThriftMap: req and response are Go values; ThriftJSON, ProtobufJSON:
//     JSON text (req a string or []byte, the response a string). A declared
//     exception is returned as an *ExceptionError. A oneway method returns
//     nil, a void method nil (map) or "" (JSON).
//   - ThriftHTTP: req is an *HTTPRequest, the response an *HTTPResponse;
//     method may be "" (the request's route selects it).
//
// A request that does not fit the IDL fails with an *Error naming the
// offending field's path, and nothing is sent. Errors of the call itself
// are core's status errors, as for typed calls.
func (c *Client) Call(ctx context.Context, method string, req any, opts ...client.CallOption) (any, error) {
	g := c.g
	switch {
	case g.http != nil:
		return c.callHTTP(ctx, method, req, opts)
	case g.form != nil:
		m := c.methods[method]
		if m == nil {
			return nil, status.Errorf(status.Unimplemented, "generic: service %s has no method %s in the IDL", c.name, method)
		}
		bp := c.buffer()
		defer c.release(bp)
		args, err := g.form.encodeArgs(m, req, (*bp)[:0])
		if err != nil {
			return nil, err
		}
		*bp = args
		var out codec.Raw
		if err := c.cli.Call(ctx, method, codec.Raw(args), &out, opts...); err != nil {
			return nil, err
		}
		if m.oneway {
			return nil, nil
		}
		return g.form.decodeResult(m, out)
	case g.pjson != nil:
		return c.callProtoJSON(ctx, method, req, opts)
	}
	var in codec.Raw
	switch v := req.(type) {
	case []byte:
		in = v
	case codec.Raw:
		in = v
	default:
		return nil, &Error{Msg: fmt.Sprintf("%s generic: the request must be []byte, not %T", g.name, req)}
	}
	var out codec.Raw
	if err := c.cli.Call(ctx, method, in, &out, opts...); err != nil {
		return nil, err
	}
	return []byte(out), nil
}

func (c *Client) buffer() *[]byte {
	if bp, ok := c.bufs.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, 0, 1024)
	return &b
}

// release keeps a request buffer for reuse unless it grew large.
func (c *Client) release(bp *[]byte) {
	if cap(*bp) <= 64<<10 {
		c.bufs.Put(bp)
	}
}

// oneway reports whether the client's IDL declares method oneway.
func (c *Client) oneway(method string) bool {
	m := c.methods[method]
	return m != nil && m.oneway
}

func (c *Client) callHTTP(ctx context.Context, method string, req any, opts []client.CallOption) (any, error) {
	hr, ok := req.(*HTTPRequest)
	if !ok || hr == nil {
		return nil, &Error{Msg: fmt.Sprintf("HTTP generic: the request must be an *HTTPRequest, not %T", req)}
	}
	m, params, err := route(c.routes, method, c.methods, hr)
	if err != nil {
		return nil, err
	}
	bp := c.buffer()
	defer c.release(bp)
	args, err := c.g.http.encodeArgs(m, hr, params, (*bp)[:0])
	if err != nil {
		return nil, err
	}
	*bp = args
	var out codec.Raw
	if err := c.cli.Call(ctx, m.name, codec.Raw(args), &out, opts...); err != nil {
		return nil, err
	}
	if m.oneway {
		return &HTTPResponse{StatusCode: 200}, nil
	}
	return c.g.http.decodeResult(m, out)
}
