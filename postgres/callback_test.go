package postgres

import (
	"testing"

	"mediagate/storetest"
)

func TestCallbacks(t *testing.T) {
	storetest.RunCallbacks(t, func(t *testing.T) storetest.JobBackend {
		return openTest(t, newDatabase(t))
	})
}
