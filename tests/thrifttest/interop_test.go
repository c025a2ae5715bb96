package thrifttest_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"

	thriftcodec "github.com/skiffrpc/skiff/codec-thrift"
	"github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/core/transport"
	ap "github.com/skiffrpc/skiff/tests/thrifttest/apache/thrifttest"
	sk "github.com/skiffrpc/skiff/tests/thrifttest/gen/thrifttest"
)

var apacheConf = &thrift.TConfiguration{
	ConnectTimeout:     2 * time.Second,
	SocketTimeout:      5 * time.Second,
	TBinaryStrictRead:  thrift.BoolPtr(true),
	TBinaryStrictWrite: thrift.BoolPtr(true),
}

// skHandler is the skiff-generated ThriftTest service, implemented as
// Apache Thrift's test server does.
type skHandler struct{ oneway chan int32 }

var _ sk.ThriftTest = (*skHandler)(nil)

func (h *skHandler) TestVoid(context.Context) error                           { return nil }
func (h *skHandler) TestString(_ context.Context, v string) (string, error)   { return v, nil }
func (h *skHandler) TestBool(_ context.Context, v bool) (bool, error)         { return v, nil }
func (h *skHandler) TestByte(_ context.Context, v int8) (int8, error)         { return v, nil }
func (h *skHandler) TestI32(_ context.Context, v int32) (int32, error)        { return v, nil }
func (h *skHandler) TestI64(_ context.Context, v int64) (int64, error)        { return v, nil }
func (h *skHandler) TestDouble(_ context.Context, v float64) (float64, error) { return v, nil }
func (h *skHandler) TestBinary(_ context.Context, v []byte) ([]byte, error)   { return v, nil }
func (h *skHandler) TestStruct(_ context.Context, v *sk.Xtruct) (*sk.Xtruct, error) {
	return v, nil
}
func (h *skHandler) TestNest(_ context.Context, v *sk.Xtruct2) (*sk.Xtruct2, error) { return v, nil }
func (h *skHandler) TestMap(_ context.Context, v map[int32]int32) (map[int32]int32, error) {
	return v, nil
}
func (h *skHandler) TestStringMap(_ context.Context, v map[string]string) (map[string]string, error) {
	return v, nil
}
func (h *skHandler) TestSet(_ context.Context, v []int32) ([]int32, error)         { return v, nil }
func (h *skHandler) TestList(_ context.Context, v []int32) ([]int32, error)        { return v, nil }
func (h *skHandler) TestEnum(_ context.Context, v sk.Numberz) (sk.Numberz, error)  { return v, nil }
func (h *skHandler) TestTypedef(_ context.Context, v sk.UserId) (sk.UserId, error) { return v, nil }
func (h *skHandler) TestMapMap(_ context.Context, hello int32) (map[int32]map[int32]int32, error) {
	return map[int32]map[int32]int32{
		-4: {-4: -4, -3: -3, -2: -2, -1: -1},
		4:  {1: 1, 2: 2, 3: 3, 4: 4},
	}, nil
}
func (h *skHandler) TestInsanity(_ context.Context, a *sk.Insanity) (map[sk.UserId]map[sk.Numberz]*sk.Insanity, error) {
	return map[sk.UserId]map[sk.Numberz]*sk.Insanity{
		1: {sk.Numberz_TWO: a, sk.Numberz_THREE: a},
		2: {sk.Numberz_SIX: {UserMap: map[sk.Numberz]sk.UserId{}, Xtructs: []*sk.Xtruct{}}},
	}, nil
}
func (h *skHandler) TestMulti(_ context.Context, a0 int8, a1 int32, a2 int64, _ map[int16]string, _ sk.Numberz, _ sk.UserId) (*sk.Xtruct, error) {
	return &sk.Xtruct{StringThing: "Hello2", ByteThing: a0, I32Thing: a1, I64Thing: a2}, nil
}
func (h *skHandler) TestException(_ context.Context, arg string) error {
	switch arg {
	case "Xception":
		return &sk.Xception{ErrorCode: 1001, Message: arg}
	case "TException":
		return errors.New("this is a TException")
	}
	return nil
}
func (h *skHandler) TestMultiException(_ context.Context, a0, a1 string) (*sk.Xtruct, error) {
	switch a0 {
	case "Xception":
		return nil, &sk.Xception{ErrorCode: 1001, Message: "This is an Xception"}
	case "Xception2":
		return nil, &sk.Xception2{ErrorCode: 2002, StructThing: &sk.Xtruct{StringThing: "This is an Xception2"}}
	}
	return &sk.Xtruct{StringThing: a1}, nil
}
func (h *skHandler) TestOneway(_ context.Context, v int32) error { h.oneway <- v; return nil }

// apHandler is the same service for Apache Thrift's generated processor.
type apHandler struct{ oneway chan int32 }

var _ ap.ThriftTest = (*apHandler)(nil)

func (h *apHandler) TestVoid(context.Context) error                           { return nil }
func (h *apHandler) TestString(_ context.Context, v string) (string, error)   { return v, nil }
func (h *apHandler) TestBool(_ context.Context, v bool) (bool, error)         { return v, nil }
func (h *apHandler) TestByte(_ context.Context, v int8) (int8, error)         { return v, nil }
func (h *apHandler) TestI32(_ context.Context, v int32) (int32, error)        { return v, nil }
func (h *apHandler) TestI64(_ context.Context, v int64) (int64, error)        { return v, nil }
func (h *apHandler) TestDouble(_ context.Context, v float64) (float64, error) { return v, nil }
func (h *apHandler) TestBinary(_ context.Context, v []byte) ([]byte, error)   { return v, nil }
func (h *apHandler) TestStruct(_ context.Context, v *ap.Xtruct) (*ap.Xtruct, error) {
	return v, nil
}
func (h *apHandler) TestNest(_ context.Context, v *ap.Xtruct2) (*ap.Xtruct2, error) { return v, nil }
func (h *apHandler) TestMap(_ context.Context, v map[int32]int32) (map[int32]int32, error) {
	return v, nil
}
func (h *apHandler) TestStringMap(_ context.Context, v map[string]string) (map[string]string, error) {
	return v, nil
}
func (h *apHandler) TestSet(_ context.Context, v []int32) ([]int32, error)         { return v, nil }
func (h *apHandler) TestList(_ context.Context, v []int32) ([]int32, error)        { return v, nil }
func (h *apHandler) TestEnum(_ context.Context, v ap.Numberz) (ap.Numberz, error)  { return v, nil }
func (h *apHandler) TestTypedef(_ context.Context, v ap.UserId) (ap.UserId, error) { return v, nil }
func (h *apHandler) TestMapMap(_ context.Context, hello int32) (map[int32]map[int32]int32, error) {
	return map[int32]map[int32]int32{
		-4: {-4: -4, -3: -3, -2: -2, -1: -1},
		4:  {1: 1, 2: 2, 3: 3, 4: 4},
	}, nil
}
func (h *apHandler) TestInsanity(_ context.Context, a *ap.Insanity) (map[ap.UserId]map[ap.Numberz]*ap.Insanity, error) {
	return map[ap.UserId]map[ap.Numberz]*ap.Insanity{
		1: {ap.Numberz_TWO: a, ap.Numberz_THREE: a},
		2: {ap.Numberz_SIX: {UserMap: map[ap.Numberz]ap.UserId{}, Xtructs: []*ap.Xtruct{}}},
	}, nil
}
func (h *apHandler) TestMulti(_ context.Context, a0 int8, a1 int32, a2 int64, _ map[int16]string, _ ap.Numberz, _ ap.UserId) (*ap.Xtruct, error) {
	return &ap.Xtruct{StringThing: "Hello2", ByteThing: a0, I32Thing: a1, I64Thing: a2}, nil
}
func (h *apHandler) TestException(_ context.Context, arg string) error {
	switch arg {
	case "Xception":
		return &ap.Xception{ErrorCode: 1001, Message: arg}
	case "TException":
		return thrift.NewTApplicationException(thrift.INTERNAL_ERROR, "this is a TException")
	}
	return nil
}
func (h *apHandler) TestMultiException(_ context.Context, a0, a1 string) (*ap.Xtruct, error) {
	switch a0 {
	case "Xception":
		return nil, &ap.Xception{ErrorCode: 1001, Message: "This is an Xception"}
	case "Xception2":
		return nil, &ap.Xception2{ErrorCode: 2002, StructThing: &ap.Xtruct{StringThing: "This is an Xception2"}}
	}
	return &ap.Xtruct{StringThing: a1}, nil
}
func (h *apHandler) TestOneway(_ context.Context, v int32) error { h.oneway <- v; return nil }

func waitOneway(t *testing.T, ch <-chan int32, want int32) {
	t.Helper()
	select {
	case v := <-ch:
		if v != want {
			t.Errorf("oneway got %d, want %d", v, want)
		}
	case <-time.After(5 * time.Second):
		t.Error("oneway call never reached the handler")
	}
}

type apTransport struct {
	name    string
	client  func(thrift.TTransport) thrift.TTransport
	factory func() thrift.TTransportFactory
	skiff   transport.Protocol
}

var apTransports = []apTransport{
	{"framed",
		func(t thrift.TTransport) thrift.TTransport { return thrift.NewTFramedTransportConf(t, apacheConf) },
		func() thrift.TTransportFactory {
			return thrift.NewTFramedTransportFactoryConf(thrift.NewTTransportFactory(), apacheConf)
		},
		transport.Framed},
	{"buffered",
		func(t thrift.TTransport) thrift.TTransport { return thrift.NewTBufferedTransport(t, 4096) },
		func() thrift.TTransportFactory { return thrift.NewTBufferedTransportFactory(4096) },
		thriftcodec.Buffered},
}

// TestApacheClientToSkiffServer: an Apache Thrift client calls every
// ThriftTest method of a service generated by skiff.
func TestApacheClientToSkiffServer(t *testing.T) {
	for _, tr := range apTransports {
		t.Run(tr.name, func(t *testing.T) {
			h := &skHandler{oneway: make(chan int32, 4)}
			svr := server.New(server.WithAddress("127.0.0.1:0"), server.WithExitWaitTime(2*time.Second))
			if err := sk.RegisterThriftTest(svr, h); err != nil {
				t.Fatal(err)
			}
			if err := svr.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := svr.Stop(); err != nil {
					t.Errorf("Stop: %v", err)
				}
			})
			trans := tr.client(thrift.NewTSocketConf(svr.Addr().String(), apacheConf))
			if err := trans.Open(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { trans.Close() })
			c := ap.NewThriftTestClientFactory(trans, thrift.NewTBinaryProtocolFactoryConf(apacheConf))
			runApacheClient(t, c)
			waitOneway(t, h.oneway, 3)
		})
	}
}

func check[T any](t *testing.T, method string, got T, err error, want T) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", method, err)
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %+v, want %+v", method, got, want)
	}
}

func runApacheClient(t *testing.T, c *ap.ThriftTestClient) {
	ctx := context.Background()
	if err := c.TestVoid(ctx); err != nil {
		t.Errorf("testVoid: %v", err)
	}
	s, err := c.TestString(ctx, "Test ✓")
	check(t, "testString", s, err, "Test ✓")
	bo, err := c.TestBool(ctx, true)
	check(t, "testBool", bo, err, true)
	by, err := c.TestByte(ctx, -7)
	check(t, "testByte", by, err, int8(-7))
	i32, err := c.TestI32(ctx, -1<<31)
	check(t, "testI32", i32, err, int32(-1<<31))
	i64, err := c.TestI64(ctx, -34359738368)
	check(t, "testI64", i64, err, int64(-34359738368))
	d, err := c.TestDouble(ctx, -5.2098523)
	check(t, "testDouble", d, err, -5.2098523)
	bin, err := c.TestBinary(ctx, []byte{0, 1, 0xff})
	check(t, "testBinary", bin, err, []byte{0, 1, 0xff})
	x := &ap.Xtruct{StringThing: "Zero", ByteThing: 1, I32Thing: -3, I64Thing: -5}
	xs, err := c.TestStruct(ctx, x)
	check(t, "testStruct", xs, err, x)
	x2 := &ap.Xtruct2{ByteThing: 1, StructThing: x, I32Thing: 5}
	x2s, err := c.TestNest(ctx, x2)
	check(t, "testNest", x2s, err, x2)
	m := map[int32]int32{1: 2, 3: 4, -5: 6}
	ms, err := c.TestMap(ctx, m)
	check(t, "testMap", ms, err, m)
	sm := map[string]string{"a": "2", "b": "blah", "some": "thing"}
	sms, err := c.TestStringMap(ctx, sm)
	check(t, "testStringMap", sms, err, sm)
	set, err := c.TestSet(ctx, []int32{1, 2, 3})
	check(t, "testSet", set, err, []int32{1, 2, 3})
	l, err := c.TestList(ctx, []int32{-2, -1, 0, 1, 2})
	check(t, "testList", l, err, []int32{-2, -1, 0, 1, 2})
	e, err := c.TestEnum(ctx, ap.Numberz_FIVE)
	check(t, "testEnum", e, err, ap.Numberz_FIVE)
	td, err := c.TestTypedef(ctx, 309858235082523)
	check(t, "testTypedef", td, err, ap.UserId(309858235082523))
	mm, err := c.TestMapMap(ctx, 1)
	check(t, "testMapMap", mm, err, map[int32]map[int32]int32{-4: {-4: -4, -3: -3, -2: -2, -1: -1}, 4: {1: 1, 2: 2, 3: 3, 4: 4}})
	in := &ap.Insanity{UserMap: map[ap.Numberz]ap.UserId{ap.Numberz_FIVE: 5, ap.Numberz_EIGHT: 8}, Xtructs: []*ap.Xtruct{x}}
	ins, err := c.TestInsanity(ctx, in)
	check(t, "testInsanity", ins, err, map[ap.UserId]map[ap.Numberz]*ap.Insanity{
		1: {ap.Numberz_TWO: in, ap.Numberz_THREE: in},
		2: {ap.Numberz_SIX: {UserMap: map[ap.Numberz]ap.UserId{}, Xtructs: []*ap.Xtruct{}}},
	})
	mu, err := c.TestMulti(ctx, 1, 2, 3, map[int16]string{1: "x"}, ap.Numberz_TWO, 6)
	check(t, "testMulti", mu, err, &ap.Xtruct{StringThing: "Hello2", ByteThing: 1, I32Thing: 2, I64Thing: 3})

	err = c.TestException(ctx, "Xception")
	var xe *ap.Xception
	if !errors.As(err, &xe) || xe.ErrorCode != 1001 || xe.Message != "Xception" {
		t.Errorf("testException(Xception) = %v", err)
	}
	err = c.TestException(ctx, "TException")
	var tae thrift.TApplicationException
	if !errors.As(err, &tae) {
		t.Errorf("testException(TException) = %v, want a TApplicationException", err)
	}
	if err := c.TestException(ctx, "no"); err != nil {
		t.Errorf("testException(no) = %v", err)
	}
	_, err = c.TestMultiException(ctx, "Xception", "x")
	if !errors.As(err, &xe) || xe.ErrorCode != 1001 {
		t.Errorf("testMultiException(Xception) = %v", err)
	}
	_, err = c.TestMultiException(ctx, "Xception2", "x")
	var xe2 *ap.Xception2
	if !errors.As(err, &xe2) || xe2.ErrorCode != 2002 || xe2.StructThing.StringThing != "This is an Xception2" {
		t.Errorf("testMultiException(Xception2) = %v", err)
	}
	r, err := c.TestMultiException(ctx, "ok", "fine")
	check(t, "testMultiException(ok)", r, err, &ap.Xtruct{StringThing: "fine"})
	if err := c.TestOneway(ctx, 3); err != nil {
		t.Errorf("testOneway: %v", err)
	}
	// A call after the oneway proves the connection is still in step.
	s, err = c.TestString(ctx, "after oneway")
	check(t, "testString after oneway", s, err, "after oneway")
}

// TestSkiffClientToApacheServer: a skiff-generated client calls every
// ThriftTest method of an Apache Thrift server.
func TestSkiffClientToApacheServer(t *testing.T) {
	for _, tr := range apTransports {
		t.Run(tr.name, func(t *testing.T) {
			h := &apHandler{oneway: make(chan int32, 4)}
			ss, err := thrift.NewTServerSocketTimeout("127.0.0.1:0", 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if err := ss.Listen(); err != nil {
				t.Fatal(err)
			}
			srv := thrift.NewTSimpleServer4(ap.NewThriftTestProcessor(h), ss, tr.factory(),
				thrift.NewTBinaryProtocolFactoryConf(apacheConf))
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := srv.Serve(); err != nil {
					t.Errorf("apache server: %v", err)
				}
			}()
			t.Cleanup(func() {
				srv.Stop()
				wg.Wait()
			})
			cli, err := client.New(sk.ThriftTestServiceInfo(), client.WithHostPorts(ss.Addr().String()),
				client.WithTransport(tr.skiff), client.WithRPCTimeout(5*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cli.Close() })
			runSkiffClient(t, sk.NewThriftTestClient(cli))
			waitOneway(t, h.oneway, 3)
		})
	}
}

func runSkiffClient(t *testing.T, c *sk.ThriftTestClient) {
	ctx := context.Background()
	if err := c.TestVoid(ctx); err != nil {
		t.Errorf("testVoid: %v", err)
	}
	s, err := c.TestString(ctx, "Test ✓")
	check(t, "testString", s, err, "Test ✓")
	bo, err := c.TestBool(ctx, true)
	check(t, "testBool", bo, err, true)
	by, err := c.TestByte(ctx, -7)
	check(t, "testByte", by, err, int8(-7))
	i32, err := c.TestI32(ctx, -1<<31)
	check(t, "testI32", i32, err, int32(-1<<31))
	i64, err := c.TestI64(ctx, -34359738368)
	check(t, "testI64", i64, err, int64(-34359738368))
	d, err := c.TestDouble(ctx, -5.2098523)
	check(t, "testDouble", d, err, -5.2098523)
	bin, err := c.TestBinary(ctx, []byte{0, 1, 0xff})
	check(t, "testBinary", bin, err, []byte{0, 1, 0xff})
	x := &sk.Xtruct{StringThing: "Zero", ByteThing: 1, I32Thing: -3, I64Thing: -5}
	xs, err := c.TestStruct(ctx, x)
	check(t, "testStruct", xs, err, x)
	x2 := &sk.Xtruct2{ByteThing: 1, StructThing: x, I32Thing: 5}
	x2s, err := c.TestNest(ctx, x2)
	check(t, "testNest", x2s, err, x2)
	m := map[int32]int32{1: 2, 3: 4, -5: 6}
	ms, err := c.TestMap(ctx, m)
	check(t, "testMap", ms, err, m)
	sm := map[string]string{"a": "2", "b": "blah", "some": "thing"}
	sms, err := c.TestStringMap(ctx, sm)
	check(t, "testStringMap", sms, err, sm)
	set, err := c.TestSet(ctx, []int32{1, 2, 3})
	check(t, "testSet", set, err, []int32{1, 2, 3})
	l, err := c.TestList(ctx, []int32{-2, -1, 0, 1, 2})
	check(t, "testList", l, err, []int32{-2, -1, 0, 1, 2})
	e, err := c.TestEnum(ctx, sk.Numberz_FIVE)
	check(t, "testEnum", e, err, sk.Numberz_FIVE)
	td, err := c.TestTypedef(ctx, 309858235082523)
	check(t, "testTypedef", td, err, sk.UserId(309858235082523))
	mm, err := c.TestMapMap(ctx, 1)
	check(t, "testMapMap", mm, err, map[int32]map[int32]int32{-4: {-4: -4, -3: -3, -2: -2, -1: -1}, 4: {1: 1, 2: 2, 3: 3, 4: 4}})
	in := &sk.Insanity{UserMap: map[sk.Numberz]sk.UserId{sk.Numberz_FIVE: 5, sk.Numberz_EIGHT: 8}, Xtructs: []*sk.Xtruct{x}}
	ins, err := c.TestInsanity(ctx, in)
	check(t, "testInsanity", ins, err, map[sk.UserId]map[sk.Numberz]*sk.Insanity{
		1: {sk.Numberz_TWO: in, sk.Numberz_THREE: in},
		2: {sk.Numberz_SIX: {UserMap: map[sk.Numberz]sk.UserId{}, Xtructs: []*sk.Xtruct{}}},
	})
	mu, err := c.TestMulti(ctx, 1, 2, 3, map[int16]string{1: "x"}, sk.Numberz_TWO, 6)
	check(t, "testMulti", mu, err, &sk.Xtruct{StringThing: "Hello2", ByteThing: 1, I32Thing: 2, I64Thing: 3})

	err = c.TestException(ctx, "Xception")
	var xe *sk.Xception
	if !errors.As(err, &xe) || xe.ErrorCode != 1001 || xe.Message != "Xception" {
		t.Errorf("testException(Xception) = %v", err)
	}
	if err = c.TestException(ctx, "TException"); err == nil || errors.As(err, &xe) {
		t.Errorf("testException(TException) = %v, want an application error", err)
	}
	if err := c.TestException(ctx, "no"); err != nil {
		t.Errorf("testException(no) = %v", err)
	}
	_, err = c.TestMultiException(ctx, "Xception", "x")
	if !errors.As(err, &xe) || xe.ErrorCode != 1001 {
		t.Errorf("testMultiException(Xception) = %v", err)
	}
	_, err = c.TestMultiException(ctx, "Xception2", "x")
	var xe2 *sk.Xception2
	if !errors.As(err, &xe2) || xe2.ErrorCode != 2002 || xe2.StructThing.StringThing != "This is an Xception2" {
		t.Errorf("testMultiException(Xception2) = %v", err)
	}
	r, err := c.TestMultiException(ctx, "ok", "fine")
	check(t, "testMultiException(ok)", r, err, &sk.Xtruct{StringThing: "fine"})
	if err := c.TestOneway(ctx, 3); err != nil {
		t.Errorf("testOneway: %v", err)
	}
	s, err = c.TestString(ctx, "after oneway")
	check(t, "testString after oneway", s, err, "after oneway")
}
