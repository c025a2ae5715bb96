package metainfo_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/skiffrpc/skiff/core/metainfo"
)

// hop simulates one RPC: what the client side of ctx sends arrives in a
// fresh server context.
func hop(ctx context.Context) context.Context {
	return metainfo.FromWire(context.Background(), metainfo.AppendWire(ctx, nil))
}

func TestThreeHops(t *testing.T) {
	a := metainfo.WithValue(context.Background(), "tk", "t1")
	a = metainfo.WithPersistentValue(a, "pk", "p1")
	b := hop(a)
	if v, ok := metainfo.GetValue(b, "tk"); !ok || v != "t1" {
		t.Fatalf("B: transient %q %v", v, ok)
	}
	if v, _ := metainfo.GetPersistentValue(b, "pk"); v != "p1" {
		t.Fatalf("B: persistent %q", v)
	}
	c := hop(b)
	if _, ok := metainfo.GetValue(c, "tk"); ok {
		t.Fatal("C: a transient value went two hops")
	}
	if v, _ := metainfo.GetPersistentValue(c, "pk"); v != "p1" {
		t.Fatalf("C: persistent %q", v)
	}
	// B's own transient value does reach C.
	c2 := hop(metainfo.WithValue(b, "tb", "x"))
	if v, _ := metainfo.GetValue(c2, "tb"); v != "x" {
		t.Fatal("C: B's transient value lost")
	}
}

func TestBackward(t *testing.T) {
	client := metainfo.WithBackwardValues(context.Background())
	server := metainfo.WithBackwardValues(context.Background())
	if !metainfo.SendBackwardValue(server, "bk", "b1") {
		t.Fatal("SendBackwardValue refused")
	}
	metainfo.SetBackwardValuesFromWire(client, metainfo.AppendBackwardWire(server, nil))
	if v, ok := metainfo.RecvBackwardValue(client, "bk"); !ok || v != "b1" {
		t.Fatalf("backward %q %v", v, ok)
	}
	if metainfo.SendBackwardValue(context.Background(), "k", "v") {
		t.Fatal("SendBackwardValue accepted a context without a collector")
	}
}

func TestWireKeysMatchKitex(t *testing.T) {
	ctx := metainfo.WithPersistentValue(metainfo.WithValue(context.Background(), "a", "1"), "b", "2")
	got := fmt.Sprint(metainfo.AppendWire(ctx, nil))
	if got != "[{RPC_TRANSIT_a 1} {RPC_PERSIST_b 2}]" {
		t.Fatal(got)
	}
}

func ExampleWithPersistentValue() {
	ctx := metainfo.WithPersistentValue(context.Background(), "tenant", "acme")
	fmt.Println(metainfo.AppendWire(ctx, nil))
	// Output: [{RPC_PERSIST_tenant acme}]
}
