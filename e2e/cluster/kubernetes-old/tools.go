//go:build tools

// Package tools keeps k8s.io/kubernetes/cmd/kube-apiserver in this wrapper's module graph (go mod tidy).
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
