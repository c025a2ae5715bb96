package otelexample

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	skiffotel "github.com/skiffrpc/skiff/otel"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// PrometheusHandler returns a meter provider whose metrics the returned
// HTTP handler serves in the Prometheus text format (mount it at /metrics),
// through the OpenTelemetry Prometheus exporter and a registry of its own.
func PrometheusHandler() (*sdkmetric.MeterProvider, http.Handler, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, nil, err
	}
	return sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp)), promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), nil
}

// RunPrometheus makes calls calls through the two services with metrics
// going to a Prometheus exporter, scrapes it once over HTTP and writes the
// RPC series (lines starting with "rpc_") to w.
func RunPrometheus(w io.Writer, calls int) error {
	mp, h, err := PrometheusHandler()
	if err != nil {
		return err
	}
	defer mp.Shutdown(context.Background())
	sys, err := start(slog.New(slog.DiscardHandler), skiffotel.WithMeterProvider(mp), skiffotel.WithoutTracing())
	if err != nil {
		return err
	}
	for i := 0; i < calls && err == nil; i++ {
		err = sys.call(context.Background(), "otel")
	}
	sys.stop()
	if err != nil {
		return err
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "rpc_") {
			if _, err := io.WriteString(w, line+"\n"); err != nil {
				return err
			}
		}
	}
	return sc.Err()
}

// Serve serves /metrics on addr and makes a call through the services
// every interval until ctx ends.
func Serve(ctx context.Context, addr string, interval time.Duration, log *slog.Logger) error {
	mp, h, err := PrometheusHandler()
	if err != nil {
		return err
	}
	defer mp.Shutdown(context.Background())
	sys, err := start(log, skiffotel.WithMeterProvider(mp), skiffotel.WithoutTracing())
	if err != nil {
		return err
	}
	defer sys.stop()
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	hs := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				_ = hs.Close()
				return
			case <-t.C:
				if err := sys.call(ctx, "otel"); err != nil && ctx.Err() == nil {
					log.Warn("call failed", "err", err)
				}
			}
		}
	}()
	log.Info("serving metrics", "url", "http://"+addr+"/metrics")
	return hs.ListenAndServe()
}
