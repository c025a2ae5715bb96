package thriftgen

import (
	"fmt"
	"strings"

	"github.com/cloudwego/thriftgo/parser"
)

// method is a service function with its Go names and wrapper fields.
type method struct {
	fn       *parser.Function
	name     string // Go method name
	args     []*field
	result   []*field // success (if not void) then the exceptions
	ret      *rtype   // nil for void
	argsT    string
	resultT  string
	poolArgs string
	poolRes  string
	mode     string // streaming mode: "", "bidirectional", "client" or "server"
}

// Streaming modes of the streaming.mode annotation, as Kitex reads it.
const (
	modeBidi   = "bidirectional"
	modeClient = "client"
	modeServer = "server"
)

// streamMode returns fn's streaming.mode annotation: "" for a ping-pong
// method (no annotation, or "unary"), else one of the three stream modes.
func streamMode(fn *parser.Function) (string, bool) {
	for _, a := range fn.Annotations {
		if a.Key != "streaming.mode" {
			continue
		}
		if len(a.Values) != 1 {
			return "", false
		}
		switch v := a.Values[0]; v {
		case "unary", "":
			return "", true
		case modeBidi, modeClient, modeServer:
			return v, true
		}
		return "", false
	}
	return "", true
}

// streamTypes returns the request and response struct types of a
// streaming method, without the pointer.
func (g *gen) streamTypes(m *method) (req, res string) {
	return strings.TrimPrefix(g.goType(m.args[0].t), "*"), strings.TrimPrefix(g.goType(m.ret), "*")
}

// streamingModeConst returns the core/service constant of a mode.
func streamingModeConst(mode string) string {
	switch mode {
	case modeBidi:
		return "service.StreamingBidi"
	case modeClient:
		return "service.StreamingClient"
	case modeServer:
		return "service.StreamingServer"
	}
	return "service.StreamingNone"
}

func lowerFirst(s string) string { return strings.ToLower(s[:1]) + s[1:] }

func (g *gen) methods(s *parser.Service) ([]*method, error) {
	sn := goName(s.Name)
	var ms []*method
	for _, fn := range s.Functions {
		m := &method{fn: fn, name: goName(fn.Name)}
		m.argsT = sn + m.name + "Args"
		m.resultT = sn + m.name + "Result"
		m.poolArgs = lowerFirst(m.argsT) + "Pool"
		m.poolRes = lowerFirst(m.resultT) + "Pool"
		args, err := g.fields(&parser.StructLike{Name: fn.Name + "_args", Fields: fn.Arguments}, false)
		if err != nil {
			return nil, err
		}
		for _, a := range args {
			// Arguments are written whatever their declared requiredness,
			// as Apache Thrift does.
			if a.f.Requiredness != parser.FieldType_Required {
				a.optional, a.pointer = false, false
				if a.t.kind != kStruct && a.t.kind != kList && a.t.kind != kSet && a.t.kind != kMap && a.t.kind != kBinary {
					a.nilable = false
				}
			}
		}
		m.args = args
		if !fn.Void {
			t, err := g.f.resolve(fn.FunctionType)
			if err != nil {
				return nil, err
			}
			m.ret = t
			sf := &field{f: &parser.Field{ID: 0, Name: "success"}, t: t, name: "Success", optional: true, nilable: true}
			switch t.kind {
			case kStruct, kList, kSet, kMap, kBinary:
			default:
				sf.pointer = true
			}
			m.result = append(m.result, sf)
		}
		exc, err := g.fields(&parser.StructLike{Name: fn.Name + "_result", Fields: fn.Throws}, true)
		if err != nil {
			return nil, err
		}
		for _, e := range exc {
			if e.t.kind != kStruct || e.t.st.Category != "exception" {
				return nil, g.f.errAt(fn.Name, "%s.%s throws %s, which is not an exception", s.Name, fn.Name, e.f.Type.Name)
			}
			e.required = false
		}
		m.result = append(m.result, exc...)
		if fn.Oneway && (!fn.Void || len(fn.Throws) > 0) {
			return nil, g.f.errAt(fn.Name, "oneway %s.%s must be void and throw nothing", s.Name, fn.Name)
		}
		mode, ok := streamMode(fn)
		if !ok {
			return nil, g.f.errAt(fn.Name, "%s.%s: streaming.mode must be \"bidirectional\", \"client\", \"server\" or \"unary\"", s.Name, fn.Name)
		}
		if mode != "" {
			// As Kitex: one struct argument (the message type of the
			// requests), a struct result (of the responses), no throws.
			if fn.Oneway || len(m.args) != 1 || m.args[0].t.kind != kStruct || m.ret == nil || m.ret.kind != kStruct || len(fn.Throws) > 0 {
				return nil, g.f.errAt(fn.Name, "streaming %s.%s must take one struct argument, return a struct and throw nothing", s.Name, fn.Name)
			}
		}
		m.mode = mode
		ms = append(ms, m)
	}
	return ms, nil
}

// base returns the file and service that s extends, or nil.
func (g *gen) base(s *parser.Service) (*file, *parser.Service, error) {
	if s.Extends == "" {
		return nil, nil, nil
	}
	bf, bn := g.f.lookup(s.Extends)
	bs, ok := bf.svcs[bn]
	if !ok {
		return nil, nil, g.f.errAt(s.Extends, "service %s extends unknown %s", s.Name, s.Extends)
	}
	return bf, bs, nil
}

func (g *gen) params(m *method) (decl, call string) {
	var d, c []string
	for _, a := range m.args {
		pn := paramName(a.f.Name)
		d = append(d, pn+" "+g.fieldType(a))
		c = append(c, pn)
	}
	return strings.Join(d, ", "), strings.Join(c, ", ")
}

func (g *gen) retType(m *method) string {
	if m.ret == nil {
		return "error"
	}
	return "(" + g.goType(m.ret) + ", error)"
}

func (g *gen) service(w *writer, s *parser.Service) error {
	ms, err := g.methods(s)
	if err != nil {
		return err
	}
	bf, bs, err := g.base(s)
	if err != nil {
		return err
	}
	sn := goName(s.Name)
	streaming := false
	for _, m := range ms {
		streaming = streaming || m.mode != ""
	}
	baseQ := ""
	if bs != nil {
		baseQ = g.qual(bf) + goName(bs.Name)
	}

	// Handler interface.
	w.p("// %s is the handler of the IDL service %s. Implementations must be", sn, s.Name)
	w.p("// safe for concurrent use. A returned declared exception (or an error")
	w.p("// wrapping one) travels as that exception; any other error as a")
	w.p("// TApplicationException.")
	comment(w, s.ReservedComments)
	w.p("type %s interface {", sn)
	if bs != nil {
		w.p("%s", baseQ)
	}
	for _, m := range ms {
		comment(w, m.fn.ReservedComments)
		if m.fn.ReservedComments == "" {
			w.p("// %s handles %s.%s.", m.name, s.Name, m.fn.Name)
		}
		if m.mode != "" {
			req, res := g.streamTypes(m)
			switch m.mode {
			case modeBidi:
				w.p("%s(ctx context.Context, s stream.BidiStreamingServer[%s, %s]) error", m.name, req, res)
			case modeClient:
				w.p("%s(ctx context.Context, s stream.ClientStreamingServer[%s, %s]) error", m.name, req, res)
			case modeServer:
				w.p("%s(ctx context.Context, req *%s, s stream.ServerStreamingServer[%s]) error", m.name, req, res)
			}
			continue
		}
		d, _ := g.params(m)
		if d != "" {
			d = ", " + d
		}
		w.p("%s(ctx context.Context%s) %s", m.name, d, g.retType(m))
	}
	w.p("}")
	w.p("")

	// Service descriptor.
	w.p("// %sServiceInfo returns a new descriptor of the service %s for a", sn, s.Name)
	w.p("// Skiff server or client (codec \"thrift\").")
	w.p("func %sServiceInfo() *service.Info {", sn)
	w.p("info := &service.Info{")
	w.p("Name: %s,", quote(s.Name))
	if streaming {
		// Kitex names a Thrift service's gRPC path after the IDL
		// namespace ("/ns.Service/Method"); streaming services take it
		// as their package, so those paths route here.
		w.p("Package: %s,", quote(g.f.pkg))
	}
	w.p("HandlerType: (*%s)(nil),", sn)
	w.p("Codec: \"thrift\",")
	w.p("Methods: map[string]*service.MethodInfo{")
	for _, m := range ms {
		w.p("%s: {", quote(m.fn.Name))
		w.p("Name: %s,", quote(m.fn.Name))
		w.p("Handler: %sHandler,", lowerFirst(sn)+m.name)
		w.p("NewArgs: func() any { return %s.Get() },", m.poolArgs)
		if m.fn.Oneway {
			w.p("Oneway: true,")
		} else {
			w.p("NewResult: func() any { return %s.Get() },", m.poolRes)
		}
		w.p("StreamingMode: %s,", streamingModeConst(m.mode))
		w.p("},")
	}
	w.p("},")
	w.p("Extra: map[string]any{\"PackageName\": %s},", quote(g.f.pkg))
	w.p("}")
	if bs != nil {
		w.p("for name, m := range %sServiceInfo().Methods {", g.qual(bf)+goName(bs.Name))
		w.p("if _, ok := info.Methods[name]; !ok {")
		w.p("info.Methods[name] = m")
		w.p("}")
		w.p("}")
	}
	w.p("return info")
	w.p("}")
	w.p("")

	w.p("// Register%s registers impl as the service %s on s.", sn, s.Name)
	w.p("func Register%s(s *server.Server, impl %s) error {", sn, sn)
	w.p("return s.RegisterService(%sServiceInfo(), impl)", sn)
	w.p("}")
	w.p("")

	// Pools.
	w.p("// The argument and result wrappers of %s are pooled: the server", s.Name)
	w.p("// recycles them once the reply is written (service.Recycler), and the")
	w.p("// client once it has taken the result out. Only the wrappers are reused,")
	w.p("// never the values they point to.")
	w.p("var (")
	for _, m := range ms {
		w.p("%s = sync.Pool{New: func() any { return New%s() }}", m.poolArgs, m.argsT)
		if !m.fn.Oneway {
			w.p("%s = sync.Pool{New: func() any { return New%s() }}", m.poolRes, m.resultT)
		}
	}
	w.p(")")
	w.p("")

	// Handlers.
	for _, m := range ms {
		h := lowerFirst(sn) + m.name + "Handler"
		if m.mode != "" {
			g.streamHandler(w, s, m, h)
			continue
		}
		argsName := "args"
		if len(m.args) == 0 {
			argsName = "_"
		}
		resName := "result"
		if m.fn.Oneway || len(m.result) == 0 {
			resName = "_"
		}
		w.p("func %s(ctx context.Context, impl any, %s, %s any) error {", h, argsName, resName)
		if len(m.args) > 0 {
			w.p("a := args.(*%s)", m.argsT)
		}
		var argExprs []string
		for _, a := range m.args {
			argExprs = append(argExprs, "a."+a.name)
		}
		callExpr := fmt.Sprintf("impl.(%s).%s(ctx%s)", sn, m.name, prefixJoin(argExprs))
		if m.fn.Oneway {
			w.p("return %s", callExpr)
			w.p("}")
			w.p("")
			continue
		}
		if len(m.result) > 0 {
			w.p("r := result.(*%s)", m.resultT)
		}
		if m.ret != nil {
			w.p("success, err := %s", callExpr)
		} else {
			w.p("err := %s", callExpr)
		}
		w.p("if err != nil {")
		for _, e := range m.result {
			if e.id == 0 {
				continue
			}
			v := lowerFirst(goName(e.f.Name)) + "Exc"
			w.p("var %s %s", v, g.goType(e.t))
			w.p("if errors.As(err, &%s) {", v)
			w.p("r.%s = %s", e.name, v)
			w.p("return nil")
			w.p("}")
		}
		w.p("return err")
		w.p("}")
		if m.ret != nil {
			if m.result[0].pointer {
				w.p("r.Success = &success")
			} else {
				w.p("r.Success = success")
			}
		}
		w.p("return nil")
		w.p("}")
		w.p("")
	}

	// Invoker and client.
	w.p("// %sInvoker sends one call; *client.Client satisfies it, and so can", sn)
	w.p("// a test double or a wrapper. args is the method's *...Args; result its")
	w.p("// *...Result, filled from the reply, or nil for a oneway method.")
	w.p("type %sInvoker interface {", sn)
	w.p("Call(ctx context.Context, method string, args, result any, opts ...client.CallOption) error")
	if streaming {
		w.p("// NewStream opens a stream of a streaming method (the client must")
		w.p("// use a stream transport, such as ttstream or HTTP/2).")
		w.p("NewStream(ctx context.Context, method string, opts ...client.CallOption) (stream.ClientStream, error)")
	}
	w.p("}")
	w.p("")
	w.p("// %sClient is the typed client of the service %s. It is safe for", sn, s.Name)
	w.p("// concurrent use if its invoker is.")
	w.p("type %sClient struct {", sn)
	if bs != nil {
		w.p("*%sClient", baseQ)
	}
	w.p("inv %sInvoker", sn)
	w.p("}")
	w.p("")
	w.p("// New%sClient returns a client that calls through c, a client made", sn)
	w.p("// with %sServiceInfo().", sn)
	w.p("func New%sClient(c *client.Client) *%sClient { return New%sClientWithInvoker(c) }", sn, sn, sn)
	w.p("")
	w.p("// New%sClientWithInvoker returns a client that sends its calls through inv.", sn)
	w.p("func New%sClientWithInvoker(inv %sInvoker) *%sClient {", sn, sn, sn)
	if bs != nil {
		w.p("return &%sClient{%sClient: %sClientWithInvoker(inv), inv: inv}", sn, goName(bs.Name), g.qual(bf)+"New"+goName(bs.Name))
	} else {
		w.p("return &%sClient{inv: inv}", sn)
	}
	w.p("}")
	w.p("")
	for _, m := range ms {
		if m.mode != "" {
			g.streamClient(w, s, m)
			continue
		}
		d, _ := g.params(m)
		if d != "" {
			d = ", " + d
		}
		ret := "error"
		if m.ret != nil {
			ret = "(" + g.goType(m.ret) + ", error)"
		}
		zero := ""
		if m.ret != nil {
			zero = g.zeroExpr(m.ret) + ", "
		}
		if m.fn.Oneway {
			w.p("// %s calls the oneway %s.%s; it returns once the call is sent.", m.name, s.Name, m.fn.Name)
		} else {
			w.p("// %s calls %s.%s.", m.name, s.Name, m.fn.Name)
		}
		w.p("func (c *%sClient) %s(ctx context.Context%s, opts ...client.CallOption) %s {", sn, m.name, d, ret)
		w.p("args := %s.Get().(*%s)", m.poolArgs, m.argsT)
		for _, a := range m.args {
			w.p("args.%s = %s", a.name, paramName(a.f.Name))
		}
		if m.fn.Oneway {
			w.p("err := c.inv.Call(ctx, %s, args, nil, opts...)", quote(m.fn.Name))
			w.p("args.Recycle()")
			w.p("return err")
			w.p("}")
			w.p("")
			continue
		}
		w.p("result := %s.Get().(*%s)", m.poolRes, m.resultT)
		w.p("err := c.inv.Call(ctx, %s, args, result, opts...)", quote(m.fn.Name))
		if len(m.result) > 0 {
			w.p("res := *result")
		}
		w.p("args.Recycle()")
		w.p("result.Recycle()")
		w.p("if err != nil {")
		w.p("return %serr", zero)
		w.p("}")
		for _, e := range m.result {
			if e.id == 0 {
				continue
			}
			w.p("if res.%s != nil {", e.name)
			w.p("return %sres.%s", zero, e.name)
			w.p("}")
		}
		if m.ret != nil {
			w.p("if res.Success == nil {")
			w.p("return %sthriftcodec.ApplicationError(thriftcodec.MissingResult, %s)", zero, quote(m.fn.Name+" failed: unknown result"))
			w.p("}")
			if m.result[0].pointer {
				w.p("return *res.Success, nil")
			} else {
				w.p("return res.Success, nil")
			}
		} else {
			w.p("return nil")
		}
		w.p("}")
		w.p("")
	}

	// Wrappers.
	for _, m := range ms {
		g.structTypeNamed(w, m.argsT, m.fn.Name+"_args", "struct", m.args, "", false)
		g.recycle(w, m.argsT, m.poolArgs)
		if !m.fn.Oneway {
			g.structTypeNamed(w, m.resultT, m.fn.Name+"_result", "struct", m.result, "", false)
			g.recycle(w, m.resultT, m.poolRes)
			g.declaredException(w, m)
		}
	}
	return nil
}

// declaredException makes the result wrapper of a method with a throws
// clause a service.ExceptionResult.
func (g *gen) declaredException(w *writer, m *method) {
	var exc []*field
	for _, e := range m.result {
		if e.id != 0 {
			exc = append(exc, e)
		}
	}
	if len(exc) == 0 {
		return
	}
	w.p("var _ service.ExceptionResult = (*%s)(nil)", m.resultT)
	w.p("")
	w.p("// DeclaredException returns the declared exception p holds, or nil when")
	w.p("// it holds none (service.ExceptionResult).")
	w.p("func (p *%s) DeclaredException() error {", m.resultT)
	w.p("if p == nil {")
	w.p("return nil")
	w.p("}")
	for _, e := range exc {
		w.p("if p.%s != nil {", e.name)
		w.p("return p.%s", e.name)
		w.p("}")
	}
	w.p("return nil")
	w.p("}")
	w.p("")
}

func (g *gen) recycle(w *writer, t, pool string) {
	w.p("// Recycle resets p to its defaults and returns it to its pool")
	w.p("// (service.Recycler).")
	w.p("func (p *%s) Recycle() {", t)
	w.p("*p = %s{}", t)
	w.p("p.InitDefault()")
	w.p("%s.Put(p)", pool)
	w.p("}")
	w.p("")
}

func prefixJoin(xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	return ", " + strings.Join(xs, ", ")
}

// streamHandler writes the server handler of a streaming method: it wraps
// the server stream in its typed form (and reads the one request of a
// server-streaming method) and calls the implementation.
func (g *gen) streamHandler(w *writer, s *parser.Service, m *method, h string) {
	sn := goName(s.Name)
	req, res := g.streamTypes(m)
	w.p("func %s(_ context.Context, impl any, args, _ any) error {", h)
	w.p("ss, ok := args.(stream.ServerStream)")
	w.p("if !ok {")
	w.p("return status.New(status.Unimplemented, %s)", quote("method "+s.Name+"."+m.fn.Name+" streams: call it over a streaming transport"))
	w.p("}")
	w.p("st := &stream.GenericServerStream[%s, %s]{ServerStream: ss}", req, res)
	if m.mode == modeServer {
		w.p("req := new(%s)", req)
		w.p("if err := ss.RecvMsg(req); err != nil {")
		w.p("return err")
		w.p("}")
		w.p("return impl.(%s).%s(ss.Context(), req, st)", sn, m.name)
	} else {
		w.p("return impl.(%s).%s(ss.Context(), st)", sn, m.name)
	}
	w.p("}")
	w.p("")
}

// streamClient writes the typed client method of a streaming method.
func (g *gen) streamClient(w *writer, s *parser.Service, m *method) {
	sn := goName(s.Name)
	req, res := g.streamTypes(m)
	switch m.mode {
	case modeBidi:
		w.p("// %s opens a bidirectional stream of %s.%s.", m.name, s.Name, m.fn.Name)
		w.p("func (c *%sClient) %s(ctx context.Context, opts ...client.CallOption) (stream.BidiStreamingClient[%s, %s], error) {", sn, m.name, req, res)
	case modeClient:
		w.p("// %s opens a client stream of %s.%s: Send the requests, then", m.name, s.Name, m.fn.Name)
		w.p("// CloseAndRecv the response.")
		w.p("func (c *%sClient) %s(ctx context.Context, opts ...client.CallOption) (stream.ClientStreamingClient[%s, %s], error) {", sn, m.name, req, res)
	case modeServer:
		w.p("// %s sends req to %s.%s and returns the stream of responses.", m.name, s.Name, m.fn.Name)
		w.p("func (c *%sClient) %s(ctx context.Context, req *%s, opts ...client.CallOption) (stream.ServerStreamingClient[%s], error) {", sn, m.name, req, res)
	}
	w.p("cs, err := c.inv.NewStream(ctx, %s, opts...)", quote(m.fn.Name))
	w.p("if err != nil {")
	w.p("return nil, err")
	w.p("}")
	if m.mode == modeServer {
		w.p("if err := cs.SendMsg(req); err != nil {")
		w.p("return nil, err")
		w.p("}")
		w.p("if err := cs.CloseSend(); err != nil {")
		w.p("return nil, err")
		w.p("}")
	}
	w.p("return &stream.GenericClientStream[%s, %s]{ClientStream: cs}, nil", req, res)
	w.p("}")
	w.p("")
}
