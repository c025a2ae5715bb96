// Command bench is one side of an echo benchmark: a server or a load-making
// client for one framework. cmd/benchdrive runs pairs of them pinned to CPUs.
//
//	bench server -framework F -addr 127.0.0.1:PORT [-cpuprofile FILE] [-memprofile FILE]
//	bench client -framework F -addr 127.0.0.1:PORT -c 100 -size 1024 -warmup 2s -duration 5s
//
// The server runs until SIGTERM or SIGINT, then writes its profiles and
// exits. The client runs CONC goroutines that call Echo in a loop on one
// shared client, ignores the warm-up, measures for -duration, prints
// "bench: measure start" and "bench: measure end" on stderr at the window's
// edges and one JSON line of results on stdout.
//
// Frameworks: raw (plain TCP, 4-byte length + body, the ceiling),
// skiff-framed (Skiff's default engine, Netpoll), skiff-framed-std (Skiff
// on its engine.Std, the standard net package), skiff-mux (Skiff Framed,
// client WithMultiplex: calls pipelined on 2 connections), skiff-ttheader
// (Skiff over TTHeader+Framed, metadata on, caller "bench"),
// skiff-ttheader-mux (the same, WithMultiplex), kitex-framed,
// kitex-ttheader (TTHeader+Framed with Kitex's TTHeader meta handlers on
// both sides), kitex-pb, kitex-grpc, grpc, skiff-grpc (Skiff's defaults:
// Netpoll on both sides), skiff-grpc-std (std on both sides),
// skiff-grpc-stdcli (a Netpoll server, a std-engine client), and more:
// the usage line
// of bench lists those its build holds.
// Every framework echoes the request body and the seq field.
//
// Build tags leave framework families out: nokitex, nogrpc and noskiff.
// cmd/benchdrive builds one binary per family (for example
// `go build -tags nokitex,nogrpc` for the Skiff frameworks), so that each
// process links only the framework it runs (grpcpb, which holds both
// grpc-go's and Skiff's code generated for echo.proto, tags its halves the
// same way).
package main
