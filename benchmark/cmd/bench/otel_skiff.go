//go:build !noskiff

package main

import (
	"github.com/skiffrpc/skiff/benchmark/grpcpb"
	grpccodec "github.com/skiffrpc/skiff/codec-grpc"
	skiffclient "github.com/skiffrpc/skiff/core/client"
	"github.com/skiffrpc/skiff/core/engine"
	skiffserver "github.com/skiffrpc/skiff/core/server"
	"github.com/skiffrpc/skiff/examples/echo"
	skiffotel "github.com/skiffrpc/skiff/otel"
	h2transport "github.com/skiffrpc/skiff/transport-http2"
)

// serveSkiffOtel is serveSkiff with the skiffotel server suite.
func serveSkiffOtel(addr string) error {
	otelProviders()
	svr := skiffserver.New(skiffserver.WithAddress(addr), skiffserver.WithEngine(engine.Default),
		skiffserver.WithSuite(skiffotel.NewServerSuite()))
	if err := svr.RegisterService(echo.ServiceInfo(), skiffEcho{}); err != nil {
		return err
	}
	if err := grpcpb.RegisterEchoService(svr, skiffPBEcho{}); err != nil {
		return err
	}
	return svr.Start()
}

// dialSkiffTTHeaderOtel is dialSkiffTTHeader with the skiffotel client
// suite.
func dialSkiffTTHeaderOtel(addr string, conc int) (client, error) {
	otelProviders()
	return dialSkiffTTHeaderWith(addr, conc, skiffclient.WithSuite(skiffotel.NewClientSuite()))
}

// dialSkiffTTHeaderOtel10 is dialSkiffTTHeaderOtel sampling a tenth of
// the calls (the server follows the caller's decision).
func dialSkiffTTHeaderOtel10(addr string, conc int) (client, error) {
	otelProviders(sampled10())
	return dialSkiffTTHeaderWith(addr, conc, skiffclient.WithSuite(skiffotel.NewClientSuite()))
}

// dialSkiffGRPCOtel is dialSkiffGRPC with the skiffotel client suite.
func dialSkiffGRPCOtel(addr string, _ int) (client, error) {
	otelProviders()
	return newSkiffPBClient(addr, skiffclient.WithStreamTransport(h2transport.New()),
		skiffclient.WithStreamCodec(grpccodec.Default), skiffclient.WithSuite(skiffotel.NewClientSuite()))
}

func init() {
	frameworks["skiff-ttheader-otel"] = framework{serve: serveSkiffOtel, dial: dialSkiffTTHeaderOtel}
	frameworks["skiff-ttheader-otel10"] = framework{serve: serveSkiffOtel, dial: dialSkiffTTHeaderOtel10}
	frameworks["skiff-grpc-otel"] = framework{serve: serveSkiffOtel, dial: dialSkiffGRPCOtel}
}
