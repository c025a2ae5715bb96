package server

import (
	"fmt"
	"reflect"

	"github.com/skiffrpc/skiff/core/service"
)

// checkHandlerType returns an error if info.HandlerType is set and impl
// does not fit it: for a nil pointer to an interface, such as
// (*EchoService)(nil), impl must implement the interface; otherwise (a nil
// pointer of a concrete type, such as (*health.Server)(nil)) impl must be
// of that type. It runs once per registration, so reflection costs nothing
// on the call path.
func checkHandlerType(info *service.Info, impl any) error {
	if info.HandlerType == nil {
		return nil
	}
	ht, it := reflect.TypeOf(info.HandlerType), reflect.TypeOf(impl)
	if ht.Kind() == reflect.Pointer && ht.Elem().Kind() == reflect.Interface {
		if !it.Implements(ht.Elem()) {
			return fmt.Errorf("server: service %s: implementation %v does not implement %v (info.HandlerType)", info.FullName(), it, ht.Elem())
		}
		return nil
	}
	if !it.AssignableTo(ht) {
		return fmt.Errorf("server: service %s: implementation %v is not a %v (info.HandlerType)", info.FullName(), it, ht)
	}
	return nil
}
