package loadbalance_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/discovery"
	lb "github.com/skiffrpc/skiff/core/loadbalance"
	"github.com/skiffrpc/skiff/loadbalance"
)

// mapping returns the instance address each of n keys goes to.
func mapping(p lb.Picker, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = p.Next(keyCtx("user-" + strconv.Itoa(i))).Address()
	}
	return out
}

// Issue 14, Show 2: consistent hashing keeps a key on its instance, and
// remaps about 10 % of the keys when 1 instance of 10 is removed (only the
// keys of the removed instance move).
func TestConsistentHashRemap(t *testing.T) {
	const keys = 100000
	ins := instances(10, 10, 10, 10, 10, 10, 10, 10, 10, 10)
	before := mapping(loadbalance.NewConsistentHash().Picker(result(ins...)), keys)

	// The same key goes to the same instance every time, from another
	// balancer value, and whatever the order of the instance list.
	shuffled := append([]discovery.Instance(nil), ins...)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	p := loadbalance.NewConsistentHash().Picker(result(shuffled...))
	for i := 0; i < keys; i += 97 {
		for range 3 {
			if got := p.Next(keyCtx("user-" + strconv.Itoa(i))).Address(); got != before[i] {
				t.Fatalf("key %d went to %s, then to %s", i, before[i], got)
			}
		}
	}

	removed := ins[3].Address()
	after := mapping(loadbalance.NewConsistentHash().Picker(result(append(append([]discovery.Instance(nil), ins[:3]...), ins[4:]...)...)), keys)
	moved, share := 0, map[string]int{}
	for i := range before {
		share[before[i]]++
		if before[i] == after[i] {
			continue
		}
		moved++
		if before[i] != removed {
			t.Fatalf("key %d moved from %s, which was not removed, to %s", i, before[i], after[i])
		}
	}
	frac := float64(moved) / keys
	t.Logf("removing 1 of 10 instances remapped %.2f %% of %d keys", 100*frac, keys)
	if frac < 0.07 || frac > 0.13 {
		t.Errorf("removing 1 of 10 instances remapped %.2f %% of the keys, want about 10 %%", 100*frac)
	}
	for addr, n := range share {
		if n < keys/10*6/10 || n > keys/10*14/10 {
			t.Errorf("%s owns %d of %d keys: the ring is uneven", addr, n, keys)
		}
	}
}

func TestConsistentHashWeights(t *testing.T) {
	ins := instances(10, 30) // 100 and 300 points
	p := loadbalance.NewConsistentHash().Picker(result(ins...))
	n := 0
	for _, addr := range mapping(p, 40000) {
		if addr == ins[1].Address() {
			n++
		}
	}
	if n < 27000 || n > 33000 {
		t.Errorf("weight 30 of 40 got %d of 40000 keys, want about 30000", n)
	}
}

func TestConsistentHashKeySources(t *testing.T) {
	ins := instances(10, 10, 10, 10)
	// A key function reads the key from the context; a per-call key wins.
	type tenant struct{}
	b := loadbalance.NewConsistentHash(loadbalance.WithKeyFunc(func(ctx context.Context) (string, bool) {
		s, ok := ctx.Value(tenant{}).(string)
		return s, ok
	}))
	p := b.Picker(result(ins...))
	want := p.Next(keyCtx("acme")).Address()
	for range 20 {
		ctx := context.WithValue(context.Background(), tenant{}, "acme")
		if got := p.Next(ctx).Address(); got != want {
			t.Fatalf("key function: %s, per-call key: %s", got, want)
		}
	}
	ci := callinfo.NewCall(context.WithValue(context.Background(), tenant{}, "other"))
	loadbalance.SetHashKey(ci, "acme")
	if k, ok := loadbalance.HashKey(ci); !ok || k != "acme" {
		t.Fatalf("HashKey = %q, %v", k, ok)
	}
	if got := p.Next(ci).Address(); got != want {
		t.Errorf("per-call key did not win over the key function: %s, want %s", got, want)
	}
	// Without a key, calls spread over the ring.
	seen := map[string]bool{}
	for range 200 {
		seen[p.Next(context.Background()).Address()] = true
	}
	if len(seen) != len(ins) {
		t.Errorf("calls without a key reached %d of %d instances", len(seen), len(ins))
	}
	if in := loadbalance.NewConsistentHash().Picker(result(instances(-1)...)).Next(context.Background()); in != nil {
		t.Errorf("no usable instance, picked %v", in)
	}
}

// With bounded load, one hot key spreads once its instance holds its
// share, and goes back home as calls finish.
func TestConsistentHashBoundedLoad(t *testing.T) {
	ins := instances(10, 10, 10, 10)
	p := loadbalance.NewConsistentHash(loadbalance.WithBoundedLoad(1.25)).Picker(result(ins...))
	fb := p.(lb.Feedback)
	ctx := keyCtx("hot")
	home := p.Next(ctx)
	fb.Done(ctx, home, lb.DoneInfo{})
	load := map[discovery.Instance]int{}
	var picked []discovery.Instance
	for range 100 {
		in := p.Next(ctx)
		load[in]++
		picked = append(picked, in)
	}
	// ceil(1.25 * 100 / 4) = 32 in flight at most on any instance.
	for in, n := range load {
		if n > 32 {
			t.Errorf("%s holds %d of 100 calls in flight, bound is 32", in.Address(), n)
		}
	}
	if load[home] < 30 {
		t.Errorf("the key's own instance took only %d of 100", load[home])
	}
	for _, in := range picked {
		fb.Done(ctx, in, lb.DoneInfo{})
	}
	for range 10 {
		in := p.Next(ctx)
		if in != home {
			t.Fatalf("idle again, the hot key went to %s, not home %s", in.Address(), home.Address())
		}
		fb.Done(ctx, in, lb.DoneInfo{})
	}
}
