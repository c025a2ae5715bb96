package generictest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/skiffrpc/skiff/generic"
)

// HTTP generic: HTTP requests mapped by api.* annotations to calls of a
// typed Skiff server, and the replies mapped back.
func TestThriftHTTPGeneric(t *testing.T) {
	svr, _ := startAllTypes(t)
	cli := newGenericClient(t, "AllTypes", generic.ThriftHTTP(loadIDL(t)), svr.Addr().String())
	ctx := context.Background()

	// GET /things/:id: path, query (a list from repeated values, an enum
	// by name) and header fields.
	req := &generic.HTTPRequest{Method: "GET", Path: "/things/42",
		Query:  url.Values{"q": {"apples"}, "tag": {"1", "2"}, "color": {"BLUE"}},
		Header: http.Header{"X-Token": {"secret"}}}
	out, err := cli.Call(ctx, "", req)
	if err != nil {
		t.Fatal(err)
	}
	resp := out.(*generic.HTTPResponse)
	if resp.StatusCode != 201 || resp.Header.Get("X-Token-Echo") != "secret" ||
		normalize(t, string(resp.Body)) != `{"color":7,"id":42,"note":"","q":"apples","tags":[1,2]}` {
		t.Fatalf("GET: %d %v %s", resp.StatusCode, resp.Header, resp.Body)
	}

	// POST /things/:id/notes: body fields by name and by api.body name; a
	// comma-separated list.
	req = &generic.HTTPRequest{Method: "POST", Path: "/things/7/notes", Query: url.Values{"tag": {"3,4"}},
		Body: []byte(`{"note": "hello", "in": {"name": "inside"}, "ignored": true}`)}
	out, err = cli.Call(ctx, "", req)
	if err != nil {
		t.Fatal(err)
	}
	resp = out.(*generic.HTTPResponse)
	if resp.StatusCode != 201 || normalize(t, string(resp.Body)) != `{"color":0,"id":7,"in":{"name":"inside"},"note":"hello","q":"","tags":[3,4]}` {
		t.Fatalf("POST: %d %s", resp.StatusCode, resp.Body)
	}

	// A struct from a query value holding its JSON; a value that is not
	// one whole JSON value cannot smuggle in other fields.
	req = &generic.HTTPRequest{Method: "GET", Path: "/things/8", Query: url.Values{"at": {`{"x": 1, "y": 2}`}}}
	out, err = cli.Call(ctx, "", req)
	if err != nil || !strings.Contains(string(out.(*generic.HTTPResponse).Body), `"at":{"x":1,"y":2}`) {
		t.Fatalf("GET with a struct query: %v %v", out, err)
	}
	req = &generic.HTTPRequest{Method: "GET", Path: "/things/8", Query: url.Values{"at": {`{"x":1,"y":2},"note":"smuggled"`}}}
	if _, err := cli.Call(ctx, "", req); err == nil || !strings.Contains(err.Error(), "generic: req.at: want an object (Point), got a string") {
		t.Fatalf("GET with a smuggling query: %v", err)
	}

	// A declared exception.
	_, err = cli.Call(ctx, "", &generic.HTTPRequest{Method: "GET", Path: "/things/0"})
	var x *generic.ExceptionError
	if !errors.As(err, &x) || x.Name != "nf" {
		t.Fatalf("GET /things/0: %v", err)
	}

	// Bad values name the field; unknown routes are errors; nothing sent.
	for _, tc := range []struct {
		req  *generic.HTTPRequest
		want string
	}{
		{&generic.HTTPRequest{Method: "GET", Path: "/things/abc"}, `generic: req.id: string "abc" is not an i64`},
		{&generic.HTTPRequest{Method: "GET", Path: "/things/1", Query: url.Values{"tag": {"x"}}}, "generic: req.tags[0]: want a number (i32), got a string"},
		{&generic.HTTPRequest{Method: "GET", Path: "/things/1", Query: url.Values{"color": {"PINK"}}}, `generic: req.color: enum Color has no value named "PINK"`},
		{&generic.HTTPRequest{Method: "DELETE", Path: "/things/1"}, "no route for DELETE /things/1"},
		{&generic.HTTPRequest{Method: "POST", Path: "/things/1/notes", Body: []byte(`[1]`)}, "the body is not a JSON object"},
	} {
		if _, err := cli.Call(ctx, "", tc.req); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: %v, want %q", tc.req.Method, tc.req.Path, err, tc.want)
		}
	}

	// A gateway: net/http in front of the generic client.
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := generic.NewHTTPRequest(r)
		if err == nil {
			var out any
			if out, err = cli.Call(r.Context(), "", req); err == nil {
				_ = out.(*generic.HTTPResponse).Write(w)
				return
			}
		}
		http.Error(w, err.Error(), http.StatusBadRequest)
	}))
	defer gw.Close()
	hreq, _ := http.NewRequest("GET", gw.URL+"/things/5?q=via%20http", nil)
	hreq.Header.Set("X-Token", "t")
	hresp, err := gw.Client().Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	defer hresp.Body.Close()
	if hresp.StatusCode != 201 || hresp.Header.Get("X-Token-Echo") != "t" {
		t.Fatalf("gateway: %d %v", hresp.StatusCode, hresp.Header)
	}
	gw.Client().CloseIdleConnections()
}
