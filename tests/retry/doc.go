// Package retry shows the retry module (github.com/skiffrpc/skiff/retry)
// on real Skiff servers and clients on 127.0.0.1, over TTHeader (Thrift)
// and gRPC (HTTP/2), with the race detector on:
//
//   - TestFailureRetry: a server that fails the first two attempts with a
//     timeout is hit three times and the call succeeds.
//   - TestChainStop: over three hops (TTHeader, then gRPC), the last
//     service sees the retry marker, and the middle one does not retry a
//     request that is itself a retry.
//   - TestBackupRequest: with a slow (300 ms) and a fast instance, a
//     backup request answers in about the delay plus the fast reply, with
//     exactly two server hits; over gRPC the loser's handler context is
//     done (RST_STREAM); over TTHeader the late reply is discarded and its
//     connection goes back to the pool (no connection leaks), or, when the
//     reply does not come within the RPC timeout, the connection is
//     closed; a multiplexed connection drops the late reply and keeps
//     serving.
//   - TestBudget: at 100 % failure the retry budget caps the retries.
//   - TestIdempotency: a method not marked idempotent is not retried once
//     sent; one whose request was not sent is retried on another instance.
//   - TestPolicies: per-method and per-call policies, and run-time updates.
package retry
