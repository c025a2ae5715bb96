// Package breaker runs the breaker module's circuit breakers on real
// Skiff servers and clients on loopback (Thrift over TTHeader, Netpoll):
// a failing service trips the service-level breaker and stops being
// called, a probe after the open timeout closes it again, a killed
// instance is skipped once its instance-level breaker opens (and a retry
// hides it from the user), discovery removing an instance drops its
// breaker, and business errors and declared exceptions never trip.
package breaker
