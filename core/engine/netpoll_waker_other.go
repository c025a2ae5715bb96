//go:build (darwin || freebsd) && (amd64 || arm64)

package engine

// wakerTouch does nothing where there is no timerfd (see
// netpoll_waker_linux.go).
func wakerTouch() {}

// wakerShortWait does nothing where there is no timerfd.
func wakerShortWait() {}
