//go:build tools

// Package tools pins the Pulumi CLI main package so `go build` can build it from this module.
// Build: go build -trimpath -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v3.248.0" \
//
//	-o pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
