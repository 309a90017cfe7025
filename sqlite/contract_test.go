package sqlite

import (
	"testing"

	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/knowledge/storetest"
)

func TestContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) knowledge.Store { return openTestDB(t) })
}
