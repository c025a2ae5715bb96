// Package registrytest is the conformance kit for service registries: a
// [github.com/skiffrpc/skiff/core/registry.Registry] together with the
// [github.com/skiffrpc/skiff/core/discovery.Resolver] that reads the same
// store. A registry module runs [Run] against itself from its own tests:
//
//	func TestConformance(t *testing.T) {
//		registrytest.Run(t, registrytest.Params{
//			New: func(t *testing.T) (registry.Registry, discovery.Resolver) {
//				return consul.NewRegistry(cfg), consul.NewResolver(cfg)
//			},
//			Settle: 30 * time.Second,
//		})
//	}
//
// Run registers instances with the registry and polls the resolver until
// it sees what the registry contract ([registry.Info], [registry.Registry])
// says it must, or until Params.Settle passes, so eventually consistent
// stores pass without fixed sleeps. Every address it registers is a
// 127.0.0.1 listener the kit holds open for the test, so stores that
// health-check instances by TCP connect see them healthy.
//
// [Memory] is an in-memory registry and resolver, the reference
// implementation the kit is tested against. It is also usable on its own:
// give it to server.WithRegistry and client.WithResolver to test service
// discovery without a registry server.
package registrytest
