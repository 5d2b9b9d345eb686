package api

import (
	"mediagate"
	"mediagate/apiv1"
)

// newObjectJSON is the wire form of o.
func newObjectJSON(o *mediagate.Object) apiv1.Object {
	j := apiv1.Object{ID: o.ID, Filename: o.Filename, ContentType: o.ContentType, Size: o.Size, SHA256: o.SHA256,
		State: string(o.State), Pinned: o.Pinned, CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.UpdatedAt.UTC(),
		ExpiresAt: utcPtr(o.ExpiresAt), PinState: string(o.PinState()), PinSuspendedAt: utcPtr(o.PinSuspendedAt)}
	if o.UploadID != "" && o.State == mediagate.StatePending {
		j.Multipart = &apiv1.Multipart{PartSize: o.PartSize, PartCount: partCount(o.Size, o.PartSize), ExpiresAt: j.ExpiresAt}
	}
	return j
}

// partCount is how many parts of partSize make size bytes.
func partCount(size, partSize int64) int {
	if partSize <= 0 {
		return 0
	}
	return int((size + partSize - 1) / partSize)
}

// partLen is the length part n (1-based) of an object must have.
func partLen(size, partSize int64, n int) int64 {
	if n < partCount(size, partSize) {
		return partSize
	}
	return size - int64(n-1)*partSize
}
