// Package generic calls and serves RPC services without generated code:
// for gateways, proxies, test tools and meshes that learn a service's IDL
// at run time, or not at all.
//
// # Forms
//
// A [Generic] says how payloads look to the user:
//
//   - [ThriftBinary], [ProtobufBinary]: bytes. A Thrift request is the
//     encoded args struct of the method, a response its result struct
//     (field 0 the success value, declared exceptions from field 1); a
//     protobuf request or response is the encoded message. Nothing is
//     decoded; no IDL is needed on a client.
//   - [ThriftMap]: Go values (map[string]any for structs), through a
//     [ThriftIDL] loaded at run time ([LoadThriftFile], [ParseThrift]).
//   - [ThriftJSON]: JSON text, converted to and from Thrift Binary in one
//     pass over the text with no value tree in between.
//   - [ThriftHTTP]: an [*HTTPRequest] in, an [*HTTPResponse] out, mapped to
//     the method's request and response structs by Kitex's api.*
//     annotations (a client: for HTTP gateways).
//   - [ProtobufJSON]: protojson text, through dynamicpb messages built
//     from a [ProtoIDL] compiled at run time ([LoadProtoFiles],
//     [ParseProto]), over Kitex Protobuf or gRPC, streams included.
//
// A [Client] (NewClient) calls any method by name with any client option
// (transport, discovery, middleware, timeouts) and returns the response in
// the same form. [RegisterService] serves an IDL's methods with one
// [Handler], func(ctx, method, req) (resp, error); [Forward] turns a binary
// client into a server.UnknownMethodHandler, a proxy that forwards every
// call it does not serve byte for byte. [Method] converts one method's
// payloads without calling anything.
//
// A Thrift request of a method with one argument is that argument's value;
// with zero or several arguments it is a struct (JSON object, map) keyed
// by argument name. A response is the success value; a declared exception
// is an [*ExceptionError] both ways.
//
// # Thrift JSON
//
//	Thrift      JSON written                    JSON read
//	bool        true / false                    true / false
//	byte, i16,  number                          number (no fraction, no exponent),
//	i32                                         range-checked
//	i64         number (string with             number or string "123"
//	            WithI64AsString)
//	double      number; "NaN", "Infinity",      number or those strings
//	            "-Infinity"
//	string      string (invalid UTF-8 becomes   string
//	            U+FFFD)
//	binary      base64 string (standard         base64, padded or not
//	            alphabet, padded)
//	enum        number (name with               number (any i32) or value name
//	            WithEnumNames)
//	struct,     object keyed by field name      same; null = absent; unknown keys
//	union,                                      are errors; a union takes at most
//	exception                                   one field
//	list, set   array                           array
//	map         object when the key type is     same; keys as strings: "12",
//	            bool, an integer, an enum,      "true", "1.5", enum names or
//	            double or string; else an       numbers
//	            array of [key, value] pairs
//
// Fields: a required field must be present (on read it is written as
// found); a field of default requiredness that the JSON leaves out gets the
// IDL's default when it has a scalar one, else is left out; an optional
// field left out is left out. Fields the IDL does not know are skipped on
// read.
//
// # Thrift map
//
// Read: bool, int8 (byte), int16, int32 (i32 and enums), int64, float64,
// string, []byte (binary), []any (list, set), map[string]any (struct, and
// maps with string keys), map[any]any (maps with other scalar keys),
// []Pair (maps whose keys are structs or containers). Written: the same,
// or any Go integer within range, a float64 with an integral value (as
// encoding/json decodes numbers), enum value names, any slice for lists
// and sets, any Go map for maps (a map[string]any's keys are parsed as the
// key type), string for binary and []byte for string.
//
// # Errors
//
// A request that does not fit the IDL fails with an [*Error] whose Path
// names the value, such as `req.items[2].tags["k"]`, and nothing is sent.
// A malformed IDL fails with "file:line:col: message".
package generic
