// Package loadbalance provides balancers beyond core's weighted round
// robin, for Skiff clients (client.WithLoadBalancer), and outlier ejection
// around any balancer (client.WithBalancerWrapper):
//
//   - [NewWeightedRandom]: weighted random with Vose's alias method, O(1)
//     per pick whatever the weights;
//   - [NewConsistentHash]: a ring with virtual nodes; the key comes from
//     the call ([WithHashKey], [SetHashKey]) or from a function of the
//     context ([WithKeyFunc]), with an optional bound on load
//     ([WithBoundedLoad]);
//   - [NewP2C]: least request with the power of two choices, weighing
//     calls in flight by a peak-EWMA latency estimate;
//   - [OutlierDetector]: ejects instances after consecutive failures or a
//     low success rate, for a backoff that grows, never more than a set
//     share of them at once.
//
// Its name is the same as core's github.com/skiffrpc/skiff/core/loadbalance
// (the interfaces and the default balancer); a file that uses both
// imports one of them under another name:
//
//	import (
//		lb "github.com/skiffrpc/skiff/core/loadbalance"
//		"github.com/skiffrpc/skiff/loadbalance"
//	)
//
// Every picker is built when the client's instance set changes (or, under
// an OutlierDetector, when an instance is ejected or returns), never per
// call, and a pick allocates nothing. The balancers that learn from
// outcomes (P2C, bounded-load hashing, the detector) keep their state per
// instance address in the balancer value, as core's loadbalance.Feedback
// asks, so each client should get its own value.
package loadbalance
