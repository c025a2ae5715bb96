package limiter_test

import "io"

var errEOF = io.EOF
