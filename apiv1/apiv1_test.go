package apiv1

import (
	"encoding/json"
	"testing"
)

// TestZeroValues pins the field names and omitempty of every type: what its
// zero value marshals to. A change here is a change of the HTTP contract.
func TestZeroValues(t *testing.T) {
	const zt = `"0001-01-01T00:00:00Z"`
	for _, c := range []struct {
		v    any
		want string
	}{
		{SignupRequest{}, `{"email":"","password":"","account_name":""}`},
		{SignupResponse{}, `{"account":{"id":"","name":"","created_at":` + zt + `},"user":{"id":"","email":"","created_at":` + zt + `},"token":"","expires_at":` + zt + `}`},
		{LoginRequest{}, `{"email":"","password":""}`},
		{LoginResponse{}, `{"token":"","expires_at":` + zt + `,"account_id":""}`},
		{Key{}, `{"id":"","name":"","hint":"","scopes":null,"created_at":` + zt + `}`},
		{CreateKeyRequest{}, `{"name":"","scopes":null}`},
		{KeyList{}, `{"keys":null}`},
		{Object{}, `{"id":"","filename":"","content_type":"","size":0,"state":"","pinned":false,"created_at":` + zt + `,"updated_at":` + zt + `}`},
		{ObjectPage{}, `{"objects":null,"next_cursor":""}`},
		{DownloadURLRequest{}, `{"expires_in":0}`},
		{DownloadURLResponse{}, `{"method":"","url":"","expires_at":` + zt + `,"charged":0}`},
		{CreateUploadRequest{}, `{"filename":"","content_type":"","size":0,"sha256":"","multipart":false,"part_size":0}`},
		{CreateUploadResponse{}, `{"object":{"id":"","filename":"","content_type":"","size":0,"state":"","pinned":false,"created_at":` + zt + `,"updated_at":` + zt + `}}`},
		{Multipart{}, `{"part_size":0,"part_count":0}`},
		{SignedURL{}, `{"method":"","url":"","headers":null,"expires_at":` + zt + `}`},
		{SignPartsRequest{}, `{"parts":null}`},
		{SignPartsResponse{Parts: []PartURL{{}}}, `{"parts":[{"number":0,"method":"","url":"","headers":null,"expires_at":` + zt + `}]}`},
		{PartList{Parts: []Part{{}}}, `{"parts":[{"number":0,"size":0,"etag":""}]}`},
		{Problem{}, `{"type":"","title":"","status":0,"detail":"","code":""}`},
		{HoldList{Holds: []Hold{{}}}, `{"holds":[{"id":"","amount":0,"operation":"","reference":"","expires_at":` + zt + `,"created_at":` + zt + `}]}`},
		{JobTypeList{JobTypes: []JobType{{}}}, `{"job_types":[{"name":"","content_types":null,"max_input_size":0,"price":0,"timeout_seconds":0,"ttl_seconds":0}]}`},
	} {
		b, err := json.Marshal(c.v)
		if err != nil || string(b) != c.want {
			t.Errorf("%T marshals to\n%s (%v), want\n%s", c.v, b, err, c.want)
		}
	}
}

func TestPartLen(t *testing.T) {
	m := &Multipart{PartSize: 10, PartCount: 3}
	for n, want := range map[int]int64{1: 10, 2: 10, 3: 5} {
		if got := m.PartLen(25, n); got != want {
			t.Errorf("PartLen(25, %d) = %d, want %d", n, got, want)
		}
	}
}
