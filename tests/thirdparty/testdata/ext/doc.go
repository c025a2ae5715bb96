// Package skiffext is a third-party extension of Skiff built against
// github.com/skiffrpc/skiff/core alone: a message codec (envcodec), a
// transport that carries metadata (metaframe), a feedback balancer and a
// breaker wrapper (balance), and a per-call option read by middleware
// (tenant). Its tests (ext_test.go) run them over real servers and clients
// on 127.0.0.1, with an unknown-method handler serving raw payloads.
package skiffext
