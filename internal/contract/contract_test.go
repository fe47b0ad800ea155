package contract_test

import (
	"testing"

	"github.com/idverify/fc-kyc/internal/contract"
)

func TestTheDocumentIsValid(t *testing.T) {
	if _, err := contract.Doc(); err != nil {
		t.Fatal(err)
	}
}
