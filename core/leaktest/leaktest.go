package leaktest

import (
	"testing"

	"go.uber.org/goleak"
)

// Options returns the goleak options that ignore the engines' process-wide
// goroutines, plus extra.
func Options(extra ...goleak.Option) []goleak.Option {
	return append([]goleak.Option{
		goleak.IgnoreAnyFunction("github.com/cloudwego/netpoll.(*defaultPoll).Wait"),
		goleak.IgnoreAnyFunction("github.com/bytedance/gopkg/util/gopool.(*worker).run.func1"),
	}, extra...)
}

// VerifyTestMain runs the tests of m and then fails if goroutines remain
// that Options does not ignore. Call it from TestMain.
func VerifyTestMain(m *testing.M, extra ...goleak.Option) {
	goleak.VerifyTestMain(m, Options(extra...)...)
}

// VerifyNone fails t if goroutines remain that Options does not ignore.
func VerifyNone(t testing.TB, extra ...goleak.Option) {
	t.Helper()
	goleak.VerifyNone(t, Options(extra...)...)
}
