package generic_test

import (
	"fmt"

	"github.com/skiffrpc/skiff/generic"
)

const exampleIDL = `
enum Kind { SMALL = 1, LARGE = 2 }
struct Item {
  1: required string name
  2: i64 count
  3: binary blob
  4: Kind kind
  5: map<i32, string> labels
}
exception Missing { 1: string what }
service Store {
  Item put(1: Item item) throws (1: Missing missing)
}
`

// The JSON of a request becomes the method's args struct (what a generic
// client sends) and back (what a generic server's handler gets).
func ExampleMethod_json() {
	idl, err := generic.ParseThrift("store.thrift", exampleIDL, nil)
	if err != nil {
		panic(err)
	}
	put, err := generic.ThriftJSON(idl, generic.WithEnumNames()).Method("Store", "put")
	if err != nil {
		panic(err)
	}
	args, err := put.EncodeRequest(nil, `{"name": "x", "count": "9007199254740993", "blob": "AQI=", "kind": 2, "labels": {"7": "seven"}}`)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d bytes of Thrift\n", len(args))
	req, err := put.DecodeRequest(args)
	fmt.Println(req, err)
	// Output:
	// 62 bytes of Thrift
	// {"name":"x","count":9007199254740993,"blob":"AQI=","kind":"LARGE","labels":{"7":"seven"}} <nil>
}

// A request that does not fit the IDL fails with the path of the value.
func ExampleError() {
	idl, _ := generic.ParseThrift("store.thrift", exampleIDL, nil)
	put, _ := generic.ThriftJSON(idl).Method("Store", "put")
	_, err := put.EncodeRequest(nil, `{"name": "x", "labels": {"seven": "7"}}`)
	fmt.Println(err)
	_, err = put.EncodeRequest(nil, `{"count": 1}`)
	fmt.Println(err)
	// Output:
	// generic: item.labels["seven"]: map key "seven" is not an integer (i32)
	// generic: item.name: required field missing
}

// Map generic: Go values in and out.
func ExampleThriftMap() {
	idl, _ := generic.ParseThrift("store.thrift", exampleIDL, nil)
	put, _ := generic.ThriftMap(idl).Method("Store", "put")
	args, err := put.EncodeRequest(nil, map[string]any{"name": "x", "kind": "SMALL", "labels": map[any]any{1: "one"}})
	if err != nil {
		panic(err)
	}
	req, _ := put.DecodeRequest(args)
	item := req.(map[string]any)
	fmt.Printf("%q %T %v %v\n", item["name"], item["kind"], item["kind"], item["labels"])
	// Output:
	// "x" int32 1 map[1:one]
}

// A malformed IDL gives file:line:col.
func ExampleParseThrift_error() {
	_, err := generic.ParseThrift("bad.thrift", "struct A {\n  1: Nope x\n}\nservice S { A get() }\n", nil)
	fmt.Println(err)
	// Output:
	// generic: bad.thrift:2:6: unknown type Nope
}
