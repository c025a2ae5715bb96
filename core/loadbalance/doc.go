// Package loadbalance picks an instance for each call. A [Balancer] builds
// a [Picker] per resolved instance set; the default is [NewWeightedRoundRobin],
// the smooth weighted round robin of nginx (plain round robin when all
// weights are equal).
package loadbalance
