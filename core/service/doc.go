// Package service describes services to the runtime: [Info] names a service
// and its methods, [MethodInfo] says how to make a method's argument and
// result values and how to call the handler. Generated code builds these;
// the server routes by them and the client uses them to pick a codec.
package service
