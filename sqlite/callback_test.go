package sqlite

import (
	"path/filepath"
	"testing"

	"mediagate/storetest"
)

func TestCallbacks(t *testing.T) {
	storetest.RunCallbacks(t, func(t *testing.T) storetest.JobBackend {
		return openTest(t, filepath.Join(t.TempDir(), "mediagate.db"))
	})
}
