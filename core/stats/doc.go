// Package stats defines the tracing hooks of a call: a [Tracer] is told
// when a call starts and finishes, and the call's [Record] holds event
// timestamps, sizes and the outcome. A [Level] switches recording off
// (the default without a tracer) or limits it to the base events.
package stats
