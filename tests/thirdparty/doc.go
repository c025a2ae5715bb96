// Package thirdparty proves the third-party view of core's extension
// points (DESIGN.md section 3.1: "a third-party module must be able to do
// everything our modules do"). testdata/ext is the source of a module
// outside the workspace, example.com/skiffext, that requires
// github.com/skiffrpc/skiff/core and nothing else of Skiff. The test copies
// it into a temporary directory, points its core requirement at this
// checkout with a replace directive, and runs go vet and go test -race in
// it with the workspace off. The module implements, with core's exported
// API only:
//
//   - a message codec (envcodec) that carries codec.Raw payloads
//     (codec.RawCarrier), checked by core/codectest, and a framed transport
//     that carries call metadata (metaframe: transport.MetaHandler),
//     checked by core/transporttest;
//   - a least-latency balancer whose pickers take per-attempt feedback
//     (loadbalance.Feedback), and a breaker installed with
//     client.WithBalancerWrapper that skips instances whose last N
//     attempts failed and forgets removed ones
//     (loadbalance.ChangeObserver);
//   - a per-call option (callinfo.NewKey, client.WithCallOption) that
//     client middleware sends as request metadata, read by the server from
//     callinfo.Info.Request;
//   - a server answering a method it has no registration for through
//     server.WithUnknownMethodHandler, to raw client calls (codec.Raw
//     arguments, *codec.Raw result), its errors reaching the client as
//     remote errors with their codes; also a server with the handler and
//     no registered service at all (a proxy).
//
// Its own tests (testdata/ext/ext_test.go) assert the behaviour over real
// servers and clients on 127.0.0.1.
package thirdparty
