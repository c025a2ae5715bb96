package service

// ExceptionResult is an optional capability of a method's result value
// (a generated XxxResult) that can hold a declared exception, such as a
// Thrift exception listed in the method's throws clause. The runtime asks
// it after a handler returns (server) and after a reply is decoded (client)
// so that middleware and tracers see the exception as an error of its own
// kind, while the exception still travels inside the result.
type ExceptionResult interface {
	// DeclaredException returns the declared exception the result holds,
	// or nil when it holds none (a successful result).
	DeclaredException() error
}
