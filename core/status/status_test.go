package status_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/skiffrpc/skiff/core/status"
)

func TestCategories(t *testing.T) {
	err := fmt.Errorf("call: %w", status.Wrap(status.ErrTimeout, "rpc timeout after 1s", context.DeadlineExceeded))
	if !errors.Is(err, status.ErrTimeout) || errors.Is(err, status.ErrCanceled) {
		t.Fatal("category match wrong")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("cause lost")
	}
	if status.CodeOf(err) != status.DeadlineExceeded {
		t.Fatal(status.CodeOf(err))
	}
	plain := status.New(status.NotFound, "no such user")
	if errors.Is(plain, status.ErrRemote) || errors.Is(plain, status.ErrProtocol) {
		t.Fatal("an uncategorised error matched a category")
	}
	if errors.Is(status.ErrTimeout, plain) {
		t.Fatal("sentinel matched a non-sentinel")
	}
}

func TestExceptionTypes(t *testing.T) {
	for typ := int32(0); typ <= 7; typ++ {
		e := status.Exception(typ, "m")
		if e.TypeID() != typ || !errors.Is(e, status.ErrRemote) {
			t.Fatal(typ)
		}
		if typ == status.TypeUnknownMethod || typ == status.TypeInternalError || typ == status.TypeUnknown {
			if status.TypeForCode(e.Code()) != typ {
				t.Errorf("type %d does not round-trip through code %v", typ, e.Code())
			}
		}
	}
	var biz error = status.NewBizError(1001, "quota exceeded")
	if status.CodeOf(biz) != status.Unknown || errors.Is(biz, status.ErrRemote) {
		t.Fatal("biz error treated as framework error")
	}
}

func ExampleError() {
	err := status.Wrap(status.ErrTimeout, "no reply within 100ms", nil)
	fmt.Println(errors.Is(err, status.ErrTimeout), status.CodeOf(err))
	fmt.Println(err)
	// Output:
	// true deadline_exceeded
	// timeout: deadline_exceeded: no reply within 100ms
}
