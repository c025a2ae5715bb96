// Package health is the gRPC health checking service, grpc.health.v1.Health
// (Check and Watch), for a Skiff server: register [ServiceInfo] with a
// [Server] as its implementation, and load balancers, Kubernetes probes
// and grpc-health-probe can ask whether the server and each of its
// services is serving.
//
// The two messages are encoded by hand (google.golang.org/protobuf's
// protowire), not generated, so this package registers nothing in the
// protobuf registry and links beside grpc-go's own health package without
// a name conflict.
package health
