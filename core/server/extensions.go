package server

import "sync"

// extensions holds the options of the server's extension points: the
// accept hooks (WithConnHook) and the unknown-method handler
// (WithUnknownMethodHandler). The options allocate it on first use, so a
// server without them carries a nil pointer.
type extensions struct {
	connHooks []ConnHook
	unknown   UnknownMethodHandler

	// The unknown-method entry is built once, on the first call that
	// needs it, when every option (the middleware included) is applied.
	unknownOnce sync.Once
	unknownM    *method
}

// extensions returns o.ext, allocating it first.
func (o *options) extensions() *extensions {
	if o.ext == nil {
		o.ext = &extensions{}
	}
	return o.ext
}
