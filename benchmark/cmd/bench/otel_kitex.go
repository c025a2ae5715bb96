//go:build !nokitex

package main

import (
	kclient "github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/transmeta"
	kserver "github.com/cloudwego/kitex/server"
	kitexotel "github.com/kitex-contrib/obs-opentelemetry/tracing"
	kechosvc "github.com/skiffrpc/skiff/benchmark/kitex_gen/echo/echoservice"
)

// serveKitexThriftOtel is serveKitexThriftMeta with obs-opentelemetry's
// server suite.
func serveKitexThriftOtel(addr string) error {
	otelProviders()
	a, err := kitexAddr(addr)
	if err != nil {
		return err
	}
	return runKitex(kechosvc.NewServer(&kitexThriftEcho{}, kserver.WithServiceAddr(a),
		kserver.WithMetaHandler(transmeta.ServerTTHeaderHandler), kserver.WithSuite(kitexotel.NewServerSuite())))
}

// dialKitexTTHeaderOtel is dialKitexTTHeader with obs-opentelemetry's
// client suite.
func dialKitexTTHeaderOtel(addr string, conc int) (client, error) {
	otelProviders()
	return dialKitexTTHeaderWith(addr, conc, kclient.WithSuite(kitexotel.NewClientSuite()))
}

func init() {
	frameworks["kitex-ttheader-otel"] = framework{serve: serveKitexThriftOtel, dial: dialKitexTTHeaderOtel}
}
