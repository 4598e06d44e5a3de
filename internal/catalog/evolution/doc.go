// Package evolution proves that catalogv1.Product evolves compatibly on the
// wire. It has no code of its own, only tests and frozen fixtures in
// testdata:
//
//   - product_v0.proto is Product as v1.0 clients know it, with
//     thumbnail_url (17), later removed and reserved, and
//     legacy_category_path (18), later deprecated; product_v0.binpb is its
//     FileDescriptorSet, read with protodesc and dynamicpb, so the tests
//     decode with the old schema without generating code for it.
//   - product_v0.bin is a Product written by a v1.0 client (including the
//     removed field and a field unknown even to v1.0); product_v1.bin is a
//     Product written by the current code, with the new brand field (19).
//
// The tests decode old bytes with the generated code (backward
// compatibility) and new bytes with the old descriptor (forward
// compatibility), and check that every v1.0 field number is either kept
// with the same name and type or reserved. `buf breaking` (make breaking)
// guards the proto itself. docs/schema-evolution.md tells the story.
//
// The binary fixtures are golden: tests never rewrite them unless run with
// -update (go test ./internal/catalog/evolution -update), which writes them
// from the same values the tests expect. product_v0.binpb changes only if
// product_v0.proto does, which it must not; it was built with
//
//	W=$(mktemp -d); mkdir -p $W/v0/bazaar/catalog/v1
//	cp internal/catalog/evolution/testdata/product_v0.proto $W/v0/bazaar/catalog/v1/
//	ln -s "$PWD/third_party" $W/tp
//	printf 'version: v2\nmodules:\n  - path: v0\n  - path: tp\n' > $W/buf.yaml
//	go tool buf build $W --path $W/v0/bazaar/catalog/v1/product_v0.proto \
//	  --exclude-source-info -o internal/catalog/evolution/testdata/product_v0.binpb
package evolution
