// Package shutdown tests a server's graceful stop across its transports:
// what open streams, in-flight calls, new connections and the health
// service see while a server stops.
package shutdown
