package fault_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/syncline/syncline/fault"
)

func TestPermanent(t *testing.T) {
	base := errors.New("access denied for user 'x'")
	p := fault.Permanent(base)
	wrapped := fmt.Errorf("apply: %w", p)
	switch {
	case !fault.IsPermanent(wrapped):
		t.Error("a wrapped permanent error is not permanent")
	case !errors.Is(wrapped, base):
		t.Error("Permanent lost the error's chain")
	case wrapped.Error() != "apply: access denied for user 'x'":
		t.Errorf("Permanent changed the text: %q", wrapped.Error())
	case fault.IsPermanent(base):
		t.Error("an unmarked error is permanent")
	case fault.Permanent(nil) != nil:
		t.Error("Permanent(nil) is not nil")
	}
}
