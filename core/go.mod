module github.com/skiffrpc/skiff/core

go 1.25.0
