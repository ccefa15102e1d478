package main

import (
	"fmt"

	"github.com/syncline/syncline/endpoint"
)

// errUnsupportedTarget names a target kind apply cannot write to yet.
func errUnsupportedTarget(target endpoint.Endpoint) error {
	return fmt.Errorf("apply cannot write to %s targets yet (%s)", target.Kind, target.Redacted())
}
