package grpcx

// Every grpcx server accepts gzip-compressed requests, and answers a
// compressed request compressed with the same compressor (grpc-go's rule),
// because this package registers the gzip compressor. Without it a client
// that asks for gzip (grpc.UseCompressor("gzip"), ghz --compression) gets
// Unimplemented "grpc: Decompressor is not installed", unless some other
// import happened to register it: in `bazaar up` the OTLP exporter does,
// which is not a dependency to rely on. Compression stays the caller's
// choice: nothing here compresses by default (see docs/performance.md,
// "Comparisons": on loopback it costs CPU for bytes that are free).
import _ "google.golang.org/grpc/encoding/gzip" // registers "gzip"
