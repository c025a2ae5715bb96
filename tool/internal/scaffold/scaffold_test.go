package scaffold

import (
	"strings"
	"testing"
)

func TestPackageName(t *testing.T) {
	for in, want := range map[string]string{
		"example.com/echosvc": "echosvc", "echo-svc": "echosvc", "x/My.Service_2": "myservice2", "example.com/9lives": "lives", "---": "service",
	} {
		if got := PackageName(in); got != want {
			t.Errorf("PackageName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFilesNameTheRegenerateCommand(t *testing.T) {
	fs := Files(Info{Module: "example.com/echosvc", What: "Thrift service Echo", IDL: "idl/echo.thrift", Regen: "skiff new -module example.com/echosvc idl/echo.thrift"})
	var readme, build string
	for _, f := range fs {
		switch f.Path {
		case "README.md":
			readme = string(f.Content)
		case "build.sh":
			build = string(f.Content)
			if !f.Executable {
				t.Error("build.sh not executable")
			}
		}
	}
	if !strings.Contains(readme, "      skiff new -module example.com/echosvc idl/echo.thrift\n") {
		t.Errorf("README lacks the regenerate command:\n%s", readme)
	}
	if !strings.Contains(build, "go build -o output/bin/echosvc ./cmd/server") || !strings.Contains(build, "output/bin/echosvc-client ./cmd/client") {
		t.Errorf("build.sh:\n%s", build)
	}
}
