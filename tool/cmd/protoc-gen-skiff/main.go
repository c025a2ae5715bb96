// Command protoc-gen-skiff is a protoc plugin that writes Skiff service
// code for .proto files (x_skiff.pb.go: handler interface, service
// descriptor, registration, typed client), the same code the skiff command
// generates without protoc.
//
//	protoc --go_out=. --skiff_out=. echo.proto
//
// It writes only the service code by default, since protoc users run
// protoc-gen-go for the messages; --skiff_opt=messages=true writes the
// messages too (exactly as protoc-gen-go), so that protoc-gen-go is not
// needed. protoc-gen-go's options (paths=source_relative, module=..., M...)
// work as with protoc-gen-go.
package main

import (
	"fmt"
	"os"

	"github.com/skiffrpc/skiff/tool/protogen"
)

func main() {
	if len(os.Args) == 2 && (os.Args[1] == "--version" || os.Args[1] == "-version") {
		fmt.Println("protoc-gen-skiff", protogen.Version)
		return
	}
	if len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "protoc-gen-skiff: a protoc plugin; run it through protoc: protoc --skiff_out=. x.proto")
		os.Exit(2)
	}
	if err := protogen.RunPlugin(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
