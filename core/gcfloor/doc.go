// Package gcfloor keeps a floor under the garbage collector's heap goal,
// so that a lean process serving many calls does not collect hundreds of
// times a second.
//
// Go's collector starts a cycle when the heap has grown by GOGC percent
// (100 by default) over what the last cycle found live, and never plans
// for less than 4 MiB. An RPC server or client whose own live heap is a few
// MiB, but which allocates for every message it decodes, therefore runs a
// cycle every few MiB it allocates: with 16 KB messages at 30,000 calls a
// second, a pinned Skiff server collected about 110 times a second, and
// the collector, its assists and the scavenger returning the freed pages
// to the system (then faulting them back in) took a fifth of its CPU. A
// Kitex server in the same benchmark collected 12 times a second: it
// allocates 16 MiB of span caches at start-up, which it leaves unused, and
// they count as live heap.
//
// The floor is one pointer-free allocation held for the life of the
// process. It counts as live heap, so with GOGC at 100 the heap goal is at
// least twice its size, but the collector never scans it, and nothing
// ever writes to it. Raised before the heap has grown and shrunk (a server
// started or a client made early in main), it comes from fresh pages the
// system has not backed yet, which Go need not clear, so it stays out of
// the resident set; raised later, it may take pages the heap used before,
// which are cleared and stay resident (a program that makes its servers
// and clients late can call [Raise] early in main). What it costs is the
// garbage it lets accumulate between cycles: a busy process can use up to
// about its size more memory than without it; an idle one, almost
// nothing once the collector and the scavenger have run.
//
// Skiff's servers and clients raise the floor to [Default] when they
// start, unless the program tunes the collector itself (see [Tuned]);
// server.WithHeapFloor and client.WithHeapFloor change the size they ask
// for, and 0 asks for none. The floor is process-wide: it is the largest
// size asked for, and it never shrinks. GOGC=100 in the environment turns
// it off for the whole process.
package gcfloor
