// Package registry defines how a server announces itself to a service
// registry: a [Registry] registers and deregisters an [Info].
package registry
