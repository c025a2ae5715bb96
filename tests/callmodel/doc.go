// Package callmodel holds regression tests of the per-call context model:
// what a handler or a client middleware may do with the context of a call
// once the call has returned, and whether servers and clients stay up when
// deadlines fire at the moment calls end.
//
//   - TestKeptContext{Netpoll,Std,GRPC}: handlers (and a client middleware)
//     keep their context past the end of the call, in a goroutine and as
//     context.WithoutCancel, and read it later; it must still answer for its
//     own call (call info, metainfo) and must not panic.
//   - TestServerSurvivesDeadlineRace: a TTHeader server whose handlers end
//     right around the caller's deadline, in a child process, must survive
//     10,000 such calls.
//   - TestGRPCClientSurvivesTimeouts: a gRPC client, in a child process,
//     making 10,000 calls that time out about half the time must stay up
//     and report only timeouts or success.
//
// The helper processes are this test binary run again (see TestMain).
// Everything talks to 127.0.0.1 only.
package callmodel
