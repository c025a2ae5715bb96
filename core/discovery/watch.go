package discovery

// Watcher is an optional capability of a [Resolver] that pushes changes
// instead of being polled. A client watches each service it calls once
// (clients of the same resolver and service share the watch) and never
// calls Resolve on the per-call path.
//
// A resolver without it is polled: the client calls Resolve in the
// background every refresh interval (client.WithDiscoveryRefresh).
type Watcher interface {
	Resolver
	// Watch calls update with the current instance set of service, and
	// again each time it changes, until stop is called; update is not
	// called after stop returns, nor concurrently with itself for one
	// watch. Watch may return before the first update. A watcher that
	// loses its source keeps its last good set: it must not push an empty
	// set because the source is briefly unreachable.
	Watch(service string, update func(Result)) (stop func(), err error)
}

// Change is how the instance set of a service changed between two
// results.
type Change struct {
	// Result is the new instance set.
	Result Result
	// Added, Updated and Removed list the instances that appeared, whose
	// weight or tags changed (the new value), and that disappeared (the old
	// value). Instances are matched by network and address.
	Added, Updated, Removed []Instance
}

// Empty reports whether nothing was added, updated or removed.
func (c *Change) Empty() bool { return len(c.Added)+len(c.Updated)+len(c.Removed) == 0 }

// Diff returns the change from prev to next.
func Diff(prev, next Result) Change {
	ch := Change{Result: next}
	old := make(map[string]Instance, len(prev.Instances))
	for _, in := range prev.Instances {
		old[in.Network()+"://"+in.Address()] = in
	}
	for _, in := range next.Instances {
		k := in.Network() + "://" + in.Address()
		was, ok := old[k]
		switch {
		case !ok:
			ch.Added = append(ch.Added, in)
		case !sameInstance(was, in):
			ch.Updated = append(ch.Updated, in)
		}
		delete(old, k)
	}
	for _, in := range prev.Instances {
		if _, gone := old[in.Network()+"://"+in.Address()]; gone {
			ch.Removed = append(ch.Removed, in)
		}
	}
	return ch
}

// TagLister is an optional capability of an [Instance] that can list its
// tags; Diff uses it to notice changed tags.
type TagLister interface {
	// Tags returns the instance's tags; the map must not be changed.
	Tags() map[string]string
}

func sameInstance(a, b Instance) bool {
	if a.Weight() != b.Weight() {
		return false
	}
	at, ok1 := a.(TagLister)
	bt, ok2 := b.(TagLister)
	if !ok1 || !ok2 {
		return ok1 == ok2
	}
	x, y := at.Tags(), bt.Tags()
	if len(x) != len(y) {
		return false
	}
	for k, v := range x {
		if w, ok := y[k]; !ok || w != v {
			return false
		}
	}
	return true
}
