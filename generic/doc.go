// Package generic calls and serves RPC services without generated code.
package generic
