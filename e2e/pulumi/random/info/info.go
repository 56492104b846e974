// Package info describes how the Terraform random provider maps onto the Pulumi package "random".
//
// Upstream's bridged provider module (github.com/pulumi/pulumi-random/provider) is not served by the Go
// module proxy this project can reach, so herd bridges the Terraform provider itself with the same
// standard token rules, keeping the "random" prefix in names (random_password ->
// random:index/randomPassword:RandomPassword), which match the @pulumi/random SDK.
package info

import (
	pfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"

	"github.com/terraform-providers/terraform-provider-random/shim"
)

// Version is set with -ldflags "-X herd.local/e2e/pulumi/random/info.Version=<version>".
var Version = "0.0.0-dev"

// Provider returns the bridge description. bridgeMetadata is the generated bridge-metadata.json (nil
// while generating it).
func Provider(bridgeMetadata []byte) tfbridge.ProviderInfo {
	p := tfbridge.ProviderInfo{
		P:                              pfbridge.ShimProvider(shim.NewProvider()),
		Name:                           "random",
		Version:                        Version,
		License:                        "Apache-2.0",
		GitHubOrg:                      "hashicorp",
		MetadataInfo:                   tfbridge.NewProviderMetadata(bridgeMetadata),
		EnableZeroDefaultSchemaVersion: true,
		EnableAccurateBridgePreview:    true,
	}
	// No prefix stripped: @pulumi/random keeps it (random_password -> random:index/randomPassword:RandomPassword).
	p.MustComputeTokens(tokens.SingleModule("", "index", tokens.MakeStandard("random")))
	return p
}
