// Package shim exposes the Terraform tls provider, whose implementation sits in an internal package
// of github.com/hashicorp/terraform-provider-tls, to the Pulumi bridge. Its import path lies under that module's path,
// which is what lets it import the internal package; the wrapper module points here with a replace line.
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"

	upstream "github.com/hashicorp/terraform-provider-tls/internal/provider"
)

// NewProvider returns the upstream plugin-framework provider.
func NewProvider() provider.Provider { return upstream.New() }
