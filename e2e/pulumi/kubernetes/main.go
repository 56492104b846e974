// Command pulumi-resource-kubernetes serves the Kubernetes provider from the
// github.com/pulumi/pulumi-kubernetes/provider/v4 module.
//
// Upstream's own main package embeds schema-embed.json and terraform-mapping-embed.json, files its
// build generates and never commits, so the module as served cannot be built directly. This main
// embeds the same two files, which e2e/build-pulumi.sh derives from the module's committed
// schema.json and terraform-mapping.json (version stamped in, minified) before `go build`.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
