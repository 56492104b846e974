// Package info describes how the Terraform tls provider maps onto the Pulumi package "tls".
//
// Upstream's bridged provider module (github.com/pulumi/pulumi-tls/provider) is not served by the Go
// module proxy this project can reach, so herd bridges the Terraform provider itself with the same
// standard token rules (tls_foo_bar -> tls:index/fooBar:FooBar), which match the @pulumi/tls SDK.
package info

import (
	pfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"

	"github.com/hashicorp/terraform-provider-tls/shim"
)

// Version is set with -ldflags "-X herd.local/e2e/pulumi/tls/info.Version=<version>".
var Version = "0.0.0-dev"

// Provider returns the bridge description. bridgeMetadata is the generated bridge-metadata.json (nil
// while generating it).
func Provider(bridgeMetadata []byte) tfbridge.ProviderInfo {
	p := tfbridge.ProviderInfo{
		P:                              pfbridge.ShimProvider(shim.NewProvider()),
		Name:                           "tls",
		Version:                        Version,
		License:                        "Apache-2.0",
		GitHubOrg:                      "hashicorp",
		MetadataInfo:                   tfbridge.NewProviderMetadata(bridgeMetadata),
		EnableZeroDefaultSchemaVersion: true,
		EnableAccurateBridgePreview:    true,
	}
	p.MustComputeTokens(tokens.SingleModule("tls_", "index", tokens.MakeStandard("tls")))
	return p
}
