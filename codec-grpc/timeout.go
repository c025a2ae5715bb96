package grpccodec

import (
	"math"
	"time"

	"github.com/skiffrpc/skiff/core/status"
)

// timeoutUnits are grpc-timeout's units, finest first.
var timeoutUnits = [...]struct {
	unit byte
	d    time.Duration
}{
	{'n', time.Nanosecond},
	{'u', time.Microsecond},
	{'m', time.Millisecond},
	{'S', time.Second},
	{'M', time.Minute},
	{'H', time.Hour},
}

// maxTimeoutValue is the largest value grpc-timeout carries: 8 digits.
const maxTimeoutValue = 99_999_999

// EncodeTimeout returns the grpc-timeout value for d: the finest unit
// whose value fits in 8 digits, rounded up so the peer never sees less
// time than is left. A d of zero or less gives "0n".
func EncodeTimeout(d time.Duration) string {
	if d <= 0 {
		return "0n"
	}
	for _, u := range timeoutUnits {
		v := d / u.d
		if d%u.d != 0 {
			v++ // round up
		}
		if v <= maxTimeoutValue {
			var b [10]byte
			i := len(b) - 1
			b[i] = u.unit
			for n := int64(v); ; n /= 10 {
				i--
				b[i] = byte('0' + n%10)
				if n < 10 {
					break
				}
			}
			return string(b[i:])
		}
	}
	return "99999999H" // unreachable: MaxInt64 is about 2.6 million hours
}

// ParseTimeout parses a grpc-timeout value: 1 to 8 ASCII digits and one of
// the units H, M, S, m, u, n. A value beyond what a time.Duration holds is
// clamped to the largest Duration. A malformed value is an Internal
// *status.Error.
func ParseTimeout(s string) (time.Duration, error) {
	if len(s) < 2 || len(s) > 9 {
		return 0, status.Errorf(status.Internal, "grpc: malformed grpc-timeout %q", s)
	}
	var unit time.Duration
	for _, u := range timeoutUnits {
		if s[len(s)-1] == u.unit {
			unit = u.d
			break
		}
	}
	if unit == 0 {
		return 0, status.Errorf(status.Internal, "grpc: malformed grpc-timeout %q: unknown unit", s)
	}
	var v int64
	for i := 0; i < len(s)-1; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, status.Errorf(status.Internal, "grpc: malformed grpc-timeout %q", s)
		}
		v = v*10 + int64(c-'0')
	}
	if v > math.MaxInt64/int64(unit) {
		return math.MaxInt64, nil
	}
	return time.Duration(v) * unit, nil
}
