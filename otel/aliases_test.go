package skiffotel_test

import (
	"github.com/skiffrpc/skiff/core/callinfo"
	"github.com/skiffrpc/skiff/core/endpoint"
)

type endpointFunc = endpoint.Endpoint

var callinfoFrom = callinfo.From
