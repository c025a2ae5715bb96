// Package consul registers Skiff servers in HashiCorp Consul and finds
// them from Skiff clients.
//
// [Registry] is a registry.Registry: give it to server.WithRegistry and the
// server announces itself to the local Consul agent when it starts and
// withdraws when it stops, before its listener closes. Each registered
// service becomes one Consul service instance with a TTL check that the
// Registry keeps passing while the process lives; a crashed process stops
// the heartbeat, its check goes critical and clients stop seeing it. When
// the agent has forgotten an instance (an agent restart without state), the
// next heartbeat fails and the Registry registers the instance again.
//
// [Resolver] is a discovery.Resolver and a discovery.Watcher: give it to
// client.WithResolver and the client follows the passing instances of each
// service it calls through one blocking query per service, shared by every
// client of the same Resolver. When Consul cannot be reached the Resolver
// keeps serving the last instance set it saw and retries with backoff and
// jitter; it never empties the set because Consul is briefly away.
//
// Both talk to Consul through github.com/hashicorp/consul/api; options set
// the agent address, datacenter, namespace, ACL token and stale reads.
package consul
