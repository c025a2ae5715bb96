package callinfo

// Key is a per-call option that a module defines, typed by T, without
// core knowing the module: a retry module declares
//
//	var policyKey = callinfo.NewKey[*Policy]("retry.policy")
//
// offers WithPolicy(p) as client.WithCallOption(policyKey, p) to its users,
// and reads policyKey.Get(callinfo.From(ctx)) in its middleware. Keys are
// compared by identity: two NewKey calls make two distinct options.
type Key[T any] struct{ name string }

// NewKey returns a new per-call option key; name is for messages only.
func NewKey[T any](name string) *Key[T] { return &Key[T]{name: name} }

// Name returns the key's name.
func (k *Key[T]) Name() string { return k.name }

// Get returns the value set for k on the call i, and whether one was set.
func (k *Key[T]) Get(i *Info) (T, bool) {
	if i != nil {
		for _, o := range i.opts {
			if o.key == k {
				return o.val.(T), true
			}
		}
	}
	var zero T
	return zero, false
}

// Set sets the value of k on the call i, replacing an earlier one. The
// client runtime calls it for client.WithCallOption before the call's
// middleware runs; middleware may call it for middleware further in, on
// the call's goroutine. Set on a nil Info does nothing.
func (k *Key[T]) Set(i *Info, v T) {
	if i == nil {
		return
	}
	for j := range i.opts {
		if i.opts[j].key == k {
			i.opts[j].val = v
			return
		}
	}
	i.opts = append(i.opts, option{key: k, val: v})
}

type option struct {
	key any
	val any
}
