// Package robust tests a server and its clients where they are easiest to
// break: faulty codecs panicking on workers or inline, stops while
// out-of-order calls run, clients closed under load.
package robust
