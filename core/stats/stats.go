package stats

import (
	"context"
	"time"
)

// Level is how much a call records.
type Level uint8

// Levels.
const (
	// LevelDisabled records nothing. It is the default when no tracer is
	// installed.
	LevelDisabled Level = iota
	// LevelBase records RPCStart and RPCFinish.
	LevelBase
	// LevelDetailed records every event. It is the default when a tracer is
	// installed.
	LevelDetailed
)

// Event names a moment in a call.
type Event uint8

// Events. RPCStart and RPCFinish are base events; the rest are detailed.
const (
	RPCStart Event = iota
	RPCFinish
	ClientConnStart
	ClientConnFinish
	WriteStart
	WriteFinish
	ReadStart
	ReadFinish
	ServerHandleStart
	ServerHandleFinish
	eventCount
)

var eventNames = [eventCount]string{
	"rpc_start", "rpc_finish", "client_conn_start", "client_conn_finish", "write_start",
	"write_finish", "read_start", "read_finish", "server_handle_start", "server_handle_finish",
}

// String returns the event name, such as "rpc_start".
func (e Event) String() string {
	if e < eventCount {
		return eventNames[e]
	}
	return "unknown"
}

// Level returns the lowest level that records e.
func (e Event) Level() Level {
	if e <= RPCFinish {
		return LevelBase
	}
	return LevelDetailed
}

// Record holds what one call recorded. The runtime owns it and resets it
// between calls; a tracer reads it in Finish and must not keep it.
type Record struct {
	level    Level
	times    [eventCount]int64
	SendSize int
	RecvSize int
	// Err is the call's error, nil on success.
	Err error
	// Panic is the value a handler panicked with, nil otherwise.
	Panic any
}

// Reset clears r and sets its level.
func (r *Record) Reset(l Level) { *r = Record{level: l} }

// CopyWire copies the connection, write and read event times and the
// sizes of from into r, leaving r's level, RPCStart, RPCFinish, handler
// events and outcome alone. The client runtime uses it to give a call's
// record the wire facts of its last attempt.
func (r *Record) CopyWire(from *Record) {
	for e := ClientConnStart; e <= ReadFinish; e++ {
		r.times[e] = from.times[e]
	}
	r.SendSize, r.RecvSize = from.SendSize, from.RecvSize
}

// Level returns the recording level.
func (r *Record) Level() Level { return r.level }

// Record stamps event e with the current time if r's level records it.
func (r *Record) Record(e Event) {
	if r.level != LevelDisabled && e.Level() <= r.level {
		r.times[e] = time.Now().UnixNano()
	}
}

// Time returns when e happened, and false if it was not recorded.
func (r *Record) Time(e Event) (time.Time, bool) {
	if e >= eventCount || r.times[e] == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, r.times[e]), true
}

// Tracer is told about every call. Start runs before the call in the order
// tracers were installed and may return a derived context; Finish runs after
// in reverse order. Both run on the call's goroutine.
type Tracer interface {
	Start(ctx context.Context) context.Context
	Finish(ctx context.Context)
}
