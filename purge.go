package mediagate

import (
	"context"
	"fmt"
)

// PurgeObject removes the bytes of a deleted object, and its multipart upload
// if it had one, from blobs, then records them gone. Whatever fails here is
// retried by the sweeper, which purges every deleted object not yet marked.
func PurgeObject(ctx context.Context, objects ObjectStore, blobs BlobStore, o *Object) error {
	if o.UploadID != "" {
		if mp, ok := blobs.(Multiparter); ok {
			if err := mp.AbortMultipart(ctx, o.Key, o.UploadID); err != nil {
				return fmt.Errorf("abort multipart upload of %s: %w", o.ID, err)
			}
		}
	}
	if err := blobs.Delete(ctx, o.Key); err != nil {
		return fmt.Errorf("delete bytes of %s: %w", o.ID, err)
	}
	if err := objects.MarkPurged(ctx, []string{o.ID}); err != nil {
		return fmt.Errorf("mark %s purged: %w", o.ID, err)
	}
	return nil
}
