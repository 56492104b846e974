// Command pulumi-tfgen-random writes the Pulumi schema and bridge metadata of the bridged random provider:
//
//	pulumi-tfgen-random schema --out <dir>
//
// It reads no upstream markdown docs (resource and property descriptions come from the Terraform schema
// itself): converting their examples needs `pulumi convert` and a converter plugin, and only the runtime
// behaviour matters here.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	"herd.local/e2e/pulumi/random/info"
)

func main() {
	p := info.Provider(nil)
	noDocs, err := os.MkdirTemp(".", "no-docs-") // an empty upstream tree: no docs to read
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	p.UpstreamRepoPath = noDocs
	tfgen.Main("random", p)
}
