// Package kitex holds the interoperability tests between Skiff and real
// Kitex v0.15.2 peers on 127.0.0.1: a Kitex client calling a Skiff server
// and a Skiff client calling a Kitex server, over TTHeader, TTHeader+Framed,
// Framed and Buffered, with TTHeader metadata (caller, method, timeout,
// metainfo, backward metainfo, business errors) checked both ways.
//
// kitex_gen/echo is Kitex-generated code (thriftgo 0.4.3, Kitex v0.15.2)
// for examples/echo/echo.thrift, copied from benchmark/kitex_gen/echo with
// its import paths adjusted.
package kitex
