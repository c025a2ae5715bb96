package protogen_test

import (
	"fmt"

	"github.com/skiffrpc/skiff/tool/protogen"
)

// Generating the messages and the Skiff service code of two files into
// the module example.com/echosvc: echo.proto names no go_package, so it
// gets one under the module; types.proto names one outside it, which
// GoPackages overrides.
func ExampleGenerate() {
	files, err := protogen.Generate(protogen.Options{
		Files:      []string{"testdata/run/types.proto", "testdata/run/echo.proto"},
		Module:     "example.com/echosvc",
		GoPackages: map[string]string{"types.proto": "example.com/echosvc/types"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range files {
		fmt.Println(f.Path)
	}
	// Output:
	// types/types.pb.go
	// echo/echo.pb.go
	// echo/echo_skiff.pb.go
}

// Scaffolding a service module for the last service of echo.proto.
func ExampleScaffold() {
	files, err := protogen.Scaffold(protogen.ScaffoldOptions{IDL: "testdata/run/echo.proto", Module: "example.com/echosvc"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range files {
		fmt.Println(f.Path, f.Executable)
	}
	// Output:
	// .gitignore false
	// README.md false
	// build.sh true
	// cmd/client/main.go false
	// cmd/server/main.go false
	// gen/echo/echo.pb.go false
	// gen/echo/echo_skiff.pb.go false
	// gen/types/types.pb.go false
	// go.mod false
	// handler.go false
	// idl/echo.proto false
	// idl/types.proto false
	// run.sh true
}
