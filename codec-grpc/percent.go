package grpccodec

const upperHex = "0123456789ABCDEF"

// needsPercent reports whether byte c must be percent-encoded in
// grpc-message: everything outside printable ASCII, and '%' itself.
func needsPercent(c byte) bool { return c < 0x20 || c > 0x7e || c == '%' }

// EncodeStatusMessage percent-encodes msg for the grpc-message trailer as
// PROTOCOL-HTTP2.md requires: the bytes of its UTF-8 form outside 0x20 to
// 0x7E, and '%', become %XX with upper-case hex digits. A message that
// needs no encoding is returned unchanged, without allocating.
func EncodeStatusMessage(msg string) string {
	n := 0
	for i := 0; i < len(msg); i++ {
		if needsPercent(msg[i]) {
			n++
		}
	}
	if n == 0 {
		return msg
	}
	b := make([]byte, 0, len(msg)+2*n)
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if needsPercent(c) {
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// DecodeStatusMessage reverses [EncodeStatusMessage]. It is tolerant, as
// the protocol asks: a '%' not followed by two hex digits is kept as it
// is, and lower-case hex digits are accepted.
func DecodeStatusMessage(s string) string {
	i := 0
	for i < len(s) && s[i] != '%' {
		i++
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b = append(b, hi<<4|lo)
				i += 2
				continue
			}
		}
		b = append(b, c)
	}
	return string(b)
}
