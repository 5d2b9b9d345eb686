package benchkit

// CreateUploadResponse is the part of mediagate's answer to POST /v1/uploads
// that the benchmarks use: the object's ID and where to PUT its bytes.
type CreateUploadResponse struct {
	Object struct {
		ID string `json:"id"`
	} `json:"object"`
	Upload struct {
		Method  string            `json:"method"`
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
	} `json:"upload"`
}
