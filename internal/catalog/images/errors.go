package images

// The google.rpc.ErrorInfo reasons of the errors Service returns. They are
// part of the API contract: clients compare errs.Reason(err) with them.
const (
	// ReasonMetadataRequired (INVALID_ARGUMENT, BadRequest field
	// "metadata"): an upload did not start with its metadata, or ended
	// before sending it.
	ReasonMetadataRequired = "METADATA_REQUIRED"
	// ReasonDuplicateMetadata (INVALID_ARGUMENT, BadRequest field
	// "metadata"): an upload sent metadata a second time.
	ReasonDuplicateMetadata = "DUPLICATE_METADATA"
	// ReasonInvalidMetadata (INVALID_ARGUMENT, BadRequest on the field):
	// the metadata's size or checksum is malformed.
	ReasonInvalidMetadata = "INVALID_METADATA"
	// ReasonImageTooLarge (RESOURCE_EXHAUSTED, with a QuotaFailure): the
	// declared size is over the maximum, or the client sent more bytes
	// than it declared.
	ReasonImageTooLarge = "IMAGE_TOO_LARGE"
	// ReasonImageTruncated (INVALID_ARGUMENT, BadRequest field
	// "metadata.size_bytes"): the upload ended with fewer bytes than
	// declared.
	ReasonImageTruncated = "IMAGE_TRUNCATED"
	// ReasonNotAnImage (INVALID_ARGUMENT, BadRequest field "chunk"): the
	// bytes are not a PNG, JPEG, GIF or WebP image.
	ReasonNotAnImage = "NOT_AN_IMAGE"
	// ReasonChecksumMismatch (DATA_LOSS): the bytes received do not have
	// the declared SHA-256; they were corrupted on the way.
	ReasonChecksumMismatch = "CHECKSUM_MISMATCH"
	// ReasonBlobMissing (DATA_LOSS): the catalog knows the image but its
	// bytes are gone from the blob store.
	ReasonBlobMissing = "IMAGE_BLOB_MISSING"
)
