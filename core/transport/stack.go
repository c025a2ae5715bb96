package transport

// StackReserve is how many bytes of a goroutine's stack RunKeepingStack
// keeps in use beneath the function it runs.
const StackReserve = 8 << 10

// reserveIndex is always 0; being a variable, it keeps the compiler from
// dropping the reserve.
var reserveIndex int

// RunKeepingStack runs fn with StackReserve bytes of the calling
// goroutine's stack in use beneath it. A long-lived goroutine that runs
// handlers and waits between them (a server's worker) runs its loop with
// it: the garbage collector halves the stack of a goroutine that uses
// less than a quarter of it, which a worker waiting for its next call
// does, and the next call then grows the stack again, copying it. With
// the reserve in use, a stack of up to four times StackReserve (32 KiB,
// enough for Skiff's handler paths) is kept; larger ones are still
// halved down to that. On a gRPC
// server pinned to one CPU at 100 concurrent calls, regrowing workers'
// stacks took 7 % of the server's CPU.
//
//go:noinline
func RunKeepingStack(fn func()) {
	var reserve [StackReserve]byte
	reserve[reserveIndex] = 1
	fn()
	if reserve[reserveIndex] != 1 {
		panic("transport: stack reserve overwritten")
	}
}
