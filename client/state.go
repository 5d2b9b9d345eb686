package client

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// uploadState is what UploadFile keeps on disk about an unfinished multipart
// upload, to resume it. It holds no credential.
type uploadState struct {
	Version   int       `json:"version"`
	Server    string    `json:"server"`
	Path      string    `json:"path"` // absolute
	Size      int64     `json:"size"`
	ModTime   time.Time `json:"mod_time"`
	ObjectID  string    `json:"object_id"`
	PartSize  int64     `json:"part_size"`
	PartCount int       `json:"part_count"`
	SHA256    string    `json:"sha256"`
	CreatedAt time.Time `json:"created_at"`
}

// key names the state file of an upload of this file to this server: the
// same file changed (new size or modification time) gets a new one.
func (s *uploadState) key() string {
	h := sha256.New()
	for _, part := range []string{s.Path, strconv.FormatInt(s.Size, 10), strconv.FormatInt(s.ModTime.UnixNano(), 10), s.Server} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// sameFile reports whether two states are of the same file and server.
func (s *uploadState) sameFile(t *uploadState) bool {
	return s.Version == t.Version && s.Server == t.Server && s.Path == t.Path && s.Size == t.Size && s.ModTime.Equal(t.ModTime)
}

func loadState(name string) (*uploadState, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var s uploadState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &s, nil
}

// save writes the state whole or not at all, readable by the user only.
func (s *uploadState) save(name string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".state-*")
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
