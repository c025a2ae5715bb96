package loadbalance_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/discovery"
	"github.com/skiffrpc/skiff/core/leaktest"
	"github.com/skiffrpc/skiff/loadbalance"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

// instances returns instances "10.0.0.<i+1>:8888" with the weights.
func instances(weights ...int) []discovery.Instance {
	ins := make([]discovery.Instance, len(weights))
	for i, w := range weights {
		ins[i] = discovery.NewInstance("tcp", fmt.Sprintf("10.0.0.%d:8888", i+1), w, nil)
	}
	return ins
}

func result(ins ...discovery.Instance) discovery.Result { return discovery.Result{Instances: ins} }

// keyCtx returns the context of a call's first attempt, as the client
// runtime makes it, with the hash key set.
func keyCtx(key string) context.Context {
	ci := callinfo.NewCall(context.Background())
	loadbalance.SetHashKey(ci, key)
	ctx, _ := ci.StartAttempt(ci)
	return ctx
}
