package h2transport

import "time"

// Receive windows that follow the bandwidth-delay product.
//
// A fixed window caps what one round trip can carry: with a 64 KiB stream
// window a 64 KiB message waits a WINDOW_UPDATE round trip for its last
// bytes, and a busy connection waits on its connection window. Like
// grpc-go, each connection measures how many DATA bytes arrive during one
// round trip: on DATA with no measurement running it sends a PING with a
// payload of its own (bdpPing) and counts the DATA bytes received until
// the ACK comes back. When that sample fills most of the current estimate
// (bdpGrowAt) and the bandwidth it implies is the highest seen, the
// estimate doubles the sample (bdpGrowBy), and the receive windows follow:
// SETTINGS_INITIAL_WINDOW_SIZE for the streams (open streams grow by the
// difference, as RFC 9113 section 6.9.2 says) and a WINDOW_UPDATE for the
// connection. Windows only grow, up to MaxStreamWindow and
// MaxConnWindow; once the estimate reaches its cap, no more pings go out.
//
// Memory stays bounded per connection whatever the peer does to the
// estimate: the connection window is given back only for DATA that was
// read or discarded, or while the bytes waiting in stream buffers stay
// below the window (conn.grantLocked), so the data buffered for the
// streams of one connection never exceeds its connection window (at most
// MaxConnWindow). See WithStreamMemory for the server-wide budget.

const (
	// MaxStreamWindow caps the stream receive window that the
	// bandwidth-delay estimate may raise (4 MiB). It is gRPC's default
	// maximum message size: one stream never needs more than a message in
	// flight to run at full speed, and it bounds what one stalled stream
	// holds.
	MaxStreamWindow = 4 << 20
	// MaxConnWindow caps the connection receive window that the estimate
	// may raise (16 MiB, grpc-go's cap for its estimate, which TCP buffers
	// rarely exceed). It is also the bound on the data buffered for the
	// streams of one connection.
	MaxConnWindow = 16 << 20
)

const (
	// bdpGrowAt: the estimate grows when a sample reaches this share of it.
	bdpGrowAt = 0.66
	// bdpGrowBy: the new estimate is the sample times this (the sample is
	// a lower bound of the true product).
	bdpGrowBy = 2
	// bdpRTTWeight is the weight of the previous mean in the moving
	// average of round-trip times, after the first bdpRTTWarm samples.
	bdpRTTWeight = 0.9
	bdpRTTWarm   = 10
)

// bdpPing is the payload of the PINGs that measure the bandwidth-delay
// product; their ACKs end a sample.
var bdpPing = [8]byte{'s', 'k', 'i', 'f', 'f', 'b', 'd', 'p'}

// bdpEstimator measures the bandwidth-delay product of a connection. It
// belongs to the frame reader goroutine.
type bdpEstimator struct {
	bdp     uint32    // current estimate, bytes
	limit   uint32    // the estimate never goes beyond
	sample  uint32    // DATA bytes received since the ping went out
	sent    bool      // a ping is outstanding
	sentAt  time.Time // when it was queued
	samples int       // samples taken
	rtt     float64   // moving average of round-trip times, seconds
	bwMax   float64   // highest bandwidth seen, bytes per second
}

func newBDPEstimator(initial, limit uint32) *bdpEstimator {
	return &bdpEstimator{bdp: initial, limit: limit}
}

// add counts n DATA bytes received. It reports whether a ping must be
// sent to start a sample.
func (b *bdpEstimator) add(n uint32, now time.Time) bool {
	if b.bdp >= b.limit {
		return false
	}
	if !b.sent {
		b.sent = true
		b.sample = n
		b.sentAt = now
		b.samples++
		return true
	}
	b.sample += n
	return false
}

// acked ends the sample with the ACK of the ping. It returns the new
// estimate when it grew, else 0.
func (b *bdpEstimator) acked(now time.Time) uint32 {
	if !b.sent {
		return 0
	}
	b.sent = false
	rtt := now.Sub(b.sentAt).Seconds()
	if rtt <= 0 {
		rtt = 1e-6
	}
	if b.samples <= bdpRTTWarm {
		b.rtt += (rtt - b.rtt) / float64(b.samples)
	} else {
		b.rtt += (rtt - b.rtt) * (1 - bdpRTTWeight)
	}
	// The ping left after the first bytes of the sample and its ACK
	// came behind the last ones: allow some slack for that.
	bw := float64(b.sample) / (b.rtt * 1.5)
	if bw > b.bwMax {
		b.bwMax = bw
	}
	if float64(b.sample) < bdpGrowAt*float64(b.bdp) || bw < b.bwMax {
		return 0
	}
	next := uint64(b.sample) * bdpGrowBy
	if next > uint64(b.limit) {
		next = uint64(b.limit)
	}
	if uint32(next) <= b.bdp {
		return 0
	}
	b.bdp = uint32(next)
	return b.bdp
}
