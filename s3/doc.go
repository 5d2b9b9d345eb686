// Package s3 stores blob bytes in a bucket of any S3-compatible store (AWS S3,
// MinIO, …): the scale-out engine behind --blobs s3://bucket/prefix?….
//
// A BlobStore is a mediagate.BlobStore, a mediagate.Multiparter and a
// mediagate.Presigner. Blob key k lives at object <prefix>/k.
//
// Put is whole or nothing without help from the store: it reads the caller's
// bytes itself, with the limit and the context checked on every read, and
// hands S3 only buffered parts. A blob of up to PartSize bytes goes up in one
// PutObject, signed with the SHA-256 of its bytes, so S3 refuses it if a
// single bit changes in transit; a larger one goes up as a multipart upload of
// PartSize parts, a few in flight at once, that is aborted on any failure and
// becomes visible only when completed. Either way the reader of a key sees the
// old blob or the new one, never a mix, since S3 replaces objects atomically.
//
// BlobInfo.SHA256 is measured while writing. Put keeps it with the object as
// user metadata, tagged with an HMAC under a key derived from the store's
// secret key and bound to the object's name and size, so Stat and Open can
// answer it later but a client that uploads through a pre-signed URL cannot
// plant a hash of its choosing. Blobs joined from parts have no hash ("").
//
// Parts (PutPart) need their length before the first byte goes to S3, which a
// request body does not promise, so a part is spooled first: in memory up to
// PartSize, in a temporary file beyond.
//
// Pre-signed URLs are signed for the public endpoint, which may differ from
// the one the server dials: a second client holds the same credentials and an
// explicit region, so signing never dials anything.
package s3
