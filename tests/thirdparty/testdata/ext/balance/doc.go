// Package balance holds two balancers written against Skiff's core alone:
//
//   - [LeastLatency], a feedback balancer: its pickers implement
//     loadbalance.Feedback and send calls to the instance with the lowest
//     moving average of recent latencies (power of two choices);
//   - [Breaker], a wrapper installed with client.WithBalancerWrapper
//     around whatever balancer the client ends up with: it counts each
//     instance's consecutive failed attempts through the wrapped picker's
//     feedback and stops picking an instance whose last N attempts failed,
//     for a cooldown, after which it lets calls probe it again.
//
// Both keep their per-instance state in the balancer, not in the pickers,
// so it survives the picker rebuilds discovery causes, and both implement
// loadbalance.ChangeObserver to drop the state of removed instances.
package balance
