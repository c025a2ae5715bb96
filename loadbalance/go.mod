module github.com/skiffrpc/skiff/loadbalance

go 1.26.0

require github.com/skiffrpc/skiff/core v0.0.0

replace github.com/skiffrpc/skiff/core => ../core
