// Package ttheader holds the end-to-end tests of TTHeader in Skiff: one
// port sniffing TTHeader, TTHeader+Framed, Framed and Buffered, and
// metadata (caller, deadline, metainfo, business errors) across hops.
package ttheader
