// Command embed-schema writes the two files the provider main embeds, from the files the
// github.com/pulumi/pulumi-kubernetes/provider/v4 module commits:
//
//	embed-schema <module dir> <version> <out dir>
//
// schema-embed.json is cmd/pulumi-resource-kubernetes/schema.json with "version" set;
// terraform-mapping-embed.json is cmd/pulumi-resource-kubernetes/terraform-mapping.json, compacted.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: embed-schema <module dir> <version> <out dir>")
		os.Exit(2)
	}
	src := filepath.Join(os.Args[1], "cmd", "pulumi-resource-kubernetes")
	if err := run(src, os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "embed-schema:", err)
		os.Exit(1)
	}
}

func run(src, version, out string) error {
	raw, err := os.ReadFile(filepath.Join(src, "schema.json"))
	if err != nil {
		return err
	}
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("schema.json: %w", err)
	}
	v, err := json.Marshal(version)
	if err != nil {
		return err
	}
	spec["version"] = v
	schema, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "schema-embed.json"), schema, 0o644); err != nil {
		return err
	}

	mapping, err := os.ReadFile(filepath.Join(src, "terraform-mapping.json"))
	if err != nil {
		return err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, mapping); err != nil {
		return fmt.Errorf("terraform-mapping.json: %w", err)
	}
	return os.WriteFile(filepath.Join(out, "terraform-mapping-embed.json"), compact.Bytes(), 0o644)
}
