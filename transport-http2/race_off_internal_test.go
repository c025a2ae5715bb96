//go:build !race

package h2transport

const raceBuild = false
