#!/bin/sh
# Compares proto.Marshal/Unmarshal with vtprotobuf's MarshalVT/UnmarshalVT
# on the first ListProducts page of 20 of a running, seeded `bazaar up`
# (docs/performance.md, "Comparisons"). Nothing in gen/ is written: the
# vtproto code goes to a temp dir and reaches the package through
# `go test -overlay`. Run from the repository root:
#
#	internal/bench/vtproto/run.sh [catalog address, default 127.0.0.1:50054] [go test flags]
set -eu
addr=${1:-127.0.0.1:50054}
[ $# -gt 0 ] && shift
root=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/protoc-gen-go-vtproto" github.com/planetscale/vtprotobuf/cmd/protoc-gen-go-vtproto
cat >"$tmp/buf.gen.yaml" <<YAML
version: v2
plugins:
  - local: $tmp/protoc-gen-go-vtproto
    out: $tmp/out
    opt: [paths=source_relative, features=marshal+unmarshal+size]
YAML
go tool buf generate proto --template "$tmp/buf.gen.yaml" --path proto/bazaar/catalog/v1/catalog.proto
go tool grpcurl -plaintext -d '{"page_size":20}' "$addr" bazaar.catalog.v1.CatalogService/ListProducts >"$tmp/page20.json"
pkg=$root/gen/bazaar/catalog/v1
cat >"$tmp/overlay.json" <<JSON
{"Replace": {
  "$pkg/catalog_vtproto.pb.go": "$tmp/out/bazaar/catalog/v1/catalog_vtproto.pb.go",
  "$pkg/vt_bench_test.go": "$root/internal/bench/vtproto/codec_bench_test.go"
}}
JSON
VT_PAGE=$tmp/page20.json go test -tags vtbench -overlay "$tmp/overlay.json" -run '^$' -bench Codec \
  -count 4 -benchtime 5000x "$@" ./gen/bazaar/catalog/v1/
