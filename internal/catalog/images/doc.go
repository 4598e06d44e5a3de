// Package images stores product images: the catalog's UploadProductImage
// and DownloadProductImage RPCs delegate to Service, which streams the
// bytes to and from a BlobStore on disk and records each image through the
// catalog's Products.
//
// An upload is all or nothing. Bytes stream into a temporary file while
// their SHA-256 is computed and their type sniffed, so memory stays
// O(chunk) however large the image; the file gets its final name (an
// atomic rename after fsync) only when the size, type and checksum are all
// right, and it stays only if the catalog then records the image. Every
// failure, and a client that goes away mid-upload, leaves nothing behind.
package images
