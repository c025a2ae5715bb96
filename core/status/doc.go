// Package status defines Skiff's one error type, [Error], with a closed set of
// codes that follow gRPC's numbering, and the framework error categories that
// callers test with [errors.Is]: [ErrTimeout], [ErrCanceled], [ErrOverload],
// [ErrCircuitOpen], [ErrNoInstance], [ErrProtocol], [ErrRemote] and
// [ErrConnect].
//
// Business errors, which a handler returns on purpose and which cross the
// wire on protocols that carry headers, are a distinct type: [BizError].
package status
