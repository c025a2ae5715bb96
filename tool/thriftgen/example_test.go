package thriftgen_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/skiffrpc/skiff/tool/thriftgen"
)

// ExampleGenerate generates the Go code of a small IDL in memory.
func ExampleGenerate() {
	dir, err := os.MkdirTemp("", "thriftgen")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	idl := filepath.Join(dir, "hello.thrift")
	src := `namespace go example.hello

struct HelloRequest {
  1: required string name
}

service Greeter {
  string hello(1: HelloRequest req)
}
`
	if err := os.WriteFile(idl, []byte(src), 0o644); err != nil {
		log.Fatal(err)
	}
	files, err := thriftgen.Generate(thriftgen.Options{Files: []string{idl}, Module: "example.com/app/gen"})
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range files {
		fmt.Println(f.Path)
		for _, l := range strings.Split(string(f.Content), "\n") {
			if strings.HasPrefix(l, "func New") || strings.HasPrefix(l, "func Register") ||
				l == "type Greeter interface {" || l == "type GreeterClient struct {" {
				fmt.Println("  " + strings.TrimSuffix(l, " {"))
			}
		}
	}
	// Output:
	// example/hello/hello.go
	//   func NewHelloRequest() *HelloRequest { return &HelloRequest{} }
	//   type Greeter interface
	//   func RegisterGreeter(s *server.Server, impl Greeter) error
	//   type GreeterClient struct
	//   func NewGreeterClient(c *client.Client) *GreeterClient { return NewGreeterClientWithInvoker(c) }
	//   func NewGreeterClientWithInvoker(inv GreeterInvoker) *GreeterClient
	//   func NewGreeterHelloArgs() *GreeterHelloArgs { return &GreeterHelloArgs{} }
	//   func NewGreeterHelloResult() *GreeterHelloResult { return &GreeterHelloResult{} }
}
