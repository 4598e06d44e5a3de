package evolution_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
)

var update = flag.Bool("update", false, "rewrite the golden fixtures in testdata")

// Field numbers of the evolution.
const (
	thumbnailURLField       protowire.Number = 17 // v1.0; removed and reserved in v1.1
	legacyCategoryPathField protowire.Number = 18 // v1.0; deprecated in v1.1
	brandField              protowire.Number = 19 // new in v1.1
	// unknownToV0Field is a field no version of Product declares, as a
	// future or foreign writer might add: every reader must carry it
	// through untouched.
	unknownToV0Field protowire.Number = 1000
)

const (
	fixtureV0   = "testdata/product_v0.bin"
	fixtureV1   = "testdata/product_v1.bin"
	descV0      = "testdata/product_v0.binpb"
	productName = "bazaar.catalog.v1.Product"

	thumbnailURL       = "https://img.example.com/thumbs/KNIFE-CHEF-20.png"
	legacyCategoryPath = "Kitchen > Knives"
	brand              = "Sakai Forge"
	unknownValue       = "from the future"
)

// keptFields is the product every version understands: fields 1 to 16 with
// a value each (the oneof kind is physical goods).
func keptFields() *catalogv1.Product {
	return &catalogv1.Product{
		Id:          "0190f1f2-7a6b-7c3d-9e4f-5a6b7c8d9e0f",
		Sku:         "KNIFE-CHEF-20",
		Title:       "Chef's knife, 20 cm",
		Description: "Forged carbon steel, walnut handle.",
		Category:    "kitchen/knives",
		Price:       &money.Money{CurrencyCode: "EUR", Units: 89, Nanos: 950_000_000},
		Attributes:  map[string]string{"colour": "walnut", "steel": "carbon"},
		Images: []*catalogv1.ImageRef{{
			Id: "img-1", ContentType: "image/png", SizeBytes: 1234,
			Sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		}},
		Kind: &catalogv1.Product_Physical{Physical: &catalogv1.PhysicalGoods{
			WeightGrams: 240,
			Dimensions:  &catalogv1.Dimensions{LengthMm: 340, WidthMm: 50, HeightMm: 25},
		}},
		CreateTime:      &timestamppb.Timestamp{Seconds: 1_767_225_600},
		UpdateTime:      &timestamppb.Timestamp{Seconds: 1_767_312_000, Nanos: 123_456_000},
		Status:          catalogv1.ProductStatus_PRODUCT_STATUS_ACTIVE,
		PartnerMetadata: &anypb.Any{TypeUrl: "type.googleapis.com/acme.v1.Listing", Value: []byte{0x08, 0x2a}},
		Etag:            "3",
	}
}

// productV1 is the product as the current code writes it: the kept fields,
// the deprecated field still set (by a client not yet migrated) and the
// new brand.
func productV1() *catalogv1.Product {
	p := keptFields()
	setString(p.ProtoReflect(), "legacy_category_path", legacyCategoryPath)
	p.Brand = brand
	return p
}

// setString sets a string field by name, so that the deprecated field is
// written without calling deprecated API.
func setString(m protoreflect.Message, name protoreflect.Name, v string) {
	m.Set(m.Descriptor().Fields().ByName(name), protoreflect.ValueOfString(v))
}

func getString(m protoreflect.Message, name protoreflect.Name) string {
	return m.Get(m.Descriptor().Fields().ByName(name)).String()
}

// oldProductType is Product as v1.0 knows it, from the frozen descriptor
// set: no generated code, and a registry of its own, apart from the
// current one.
func oldProductType(t *testing.T) protoreflect.MessageType {
	t.Helper()
	b, err := os.ReadFile(descV0)
	if err != nil {
		t.Fatal(err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(b, &set); err != nil {
		t.Fatalf("unmarshal %s: %v", descV0, err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		t.Fatalf("protodesc.NewFiles(%s): %v", descV0, err)
	}
	d, err := files.FindDescriptorByName(productName)
	if err != nil {
		t.Fatalf("%s in %s: %v", productName, descV0, err)
	}
	return dynamicpb.NewMessageType(d.(protoreflect.MessageDescriptor))
}

// productV0 is the product as a v1.0 client writes it: the kept fields,
// the field v1.1 removes, the field it deprecates, and a field unknown to
// v1.0 itself (carried through from some newer writer).
func productV0(t *testing.T) protoreflect.Message {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(keptFields())
	if err != nil {
		t.Fatal(err)
	}
	m := oldProductType(t).New()
	if err := proto.Unmarshal(b, m.Interface()); err != nil {
		t.Fatalf("v1.0 cannot read the kept fields: %v", err)
	}
	setString(m, "thumbnail_url", thumbnailURL)
	setString(m, "legacy_category_path", legacyCategoryPath)
	m.SetUnknown(protowire.AppendString(protowire.AppendTag(nil, unknownToV0Field, protowire.BytesType), unknownValue))
	return m
}

// golden returns the fixture at path, first rewriting it with build's
// bytes under -update.
func golden(t *testing.T, path string, build func() proto.Message) []byte {
	t.Helper()
	if *update {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(build())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.FromSlash(path), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.FromSlash(path))
	if err != nil {
		t.Fatalf("%v (run go test -update to create the fixture)", err)
	}
	return b
}

// unknownString returns the string value of field num in the unknown
// fields raw, and whether it is there.
func unknownString(t *testing.T, raw protoreflect.RawFields, num protowire.Number) (string, bool) {
	t.Helper()
	for len(raw) > 0 {
		n, typ, l := protowire.ConsumeTag(raw)
		if l < 0 {
			t.Fatalf("bad unknown fields: %v", protowire.ParseError(l))
		}
		raw = raw[l:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeString(raw)
			if l < 0 {
				t.Fatalf("bad unknown field %d: %v", n, protowire.ParseError(l))
			}
			return v, true
		}
		l = protowire.ConsumeFieldValue(n, typ, raw)
		if l < 0 {
			t.Fatalf("bad unknown field %d: %v", n, protowire.ParseError(l))
		}
		raw = raw[l:]
	}
	return "", false
}

// TestBackwardCompatible decodes bytes a v1.0 client wrote with the current
// code: every kept field has its value, the deprecated field still reads,
// and the removed field (like any unknown one) is kept as unknown and
// survives a re-marshal, so a v1.0 reader downstream still sees it.
func TestBackwardCompatible(t *testing.T) {
	b := golden(t, fixtureV0, func() proto.Message { return productV0(t).Interface() })

	var got catalogv1.Product
	if err := proto.Unmarshal(b, &got); err != nil {
		t.Fatalf("current code cannot read v1.0 bytes: %v", err)
	}
	if diff := cmp.Diff(keptFields(), &got, protocmp.Transform(), protocmp.IgnoreUnknown(),
		protocmp.IgnoreFields(&catalogv1.Product{}, "legacy_category_path")); diff != "" {
		t.Errorf("kept fields of v1.0 bytes (-want +got):\n%s", diff)
	}
	if v := getString(got.ProtoReflect(), "legacy_category_path"); v != legacyCategoryPath {
		t.Errorf("deprecated legacy_category_path = %q, want %q", v, legacyCategoryPath)
	}
	if got.GetBrand() != "" {
		t.Errorf("brand = %q, want empty: v1.0 never wrote it", got.GetBrand())
	}
	unknown := got.ProtoReflect().GetUnknown()
	if v, ok := unknownString(t, unknown, thumbnailURLField); !ok || v != thumbnailURL {
		t.Errorf("removed field %d in unknown fields = %q, %v; want %q", thumbnailURLField, v, ok, thumbnailURL)
	}
	if v, ok := unknownString(t, unknown, unknownToV0Field); !ok || v != unknownValue {
		t.Errorf("unknown field %d = %q, %v; want %q", unknownToV0Field, v, ok, unknownValue)
	}

	// Pass it on: the current code re-marshals what it read, and a v1.0
	// reader gets back exactly what the v1.0 writer sent.
	again, err := proto.Marshal(&got)
	if err != nil {
		t.Fatal(err)
	}
	old := oldProductType(t).New()
	if err := proto.Unmarshal(again, old.Interface()); err != nil {
		t.Fatalf("v1.0 cannot read re-marshalled bytes: %v", err)
	}
	if diff := cmp.Diff(productV0(t).Interface(), old.Interface(), protocmp.Transform()); diff != "" {
		t.Errorf("v1.0 view after a round trip through the current code (-want +got):\n%s", diff)
	}
}

// TestForwardCompatible decodes bytes the current code wrote with the v1.0
// descriptor: every field v1.0 knows has its value, the new brand is kept
// as unknown, and re-marshalling carries it back to a current reader.
func TestForwardCompatible(t *testing.T) {
	b := golden(t, fixtureV1, func() proto.Message { return productV1() })

	// The fixture is what the current code means by productV1.
	var cur catalogv1.Product
	if err := proto.Unmarshal(b, &cur); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(productV1(), &cur, protocmp.Transform()); diff != "" {
		t.Fatalf("%s does not hold productV1 (-want +got):\n%s", fixtureV1, diff)
	}

	old := oldProductType(t).New()
	if err := proto.Unmarshal(b, old.Interface()); err != nil {
		t.Fatalf("v1.0 cannot read current bytes: %v", err)
	}
	// What v1.0 sees of the kept fields is what the current code sent.
	keptOnly, err := proto.Marshal(keptFields())
	if err != nil {
		t.Fatal(err)
	}
	wantOld := oldProductType(t).New()
	if err := proto.Unmarshal(keptOnly, wantOld.Interface()); err != nil {
		t.Fatal(err)
	}
	setString(wantOld, "legacy_category_path", legacyCategoryPath)
	if diff := cmp.Diff(wantOld.Interface(), old.Interface(), protocmp.Transform(), protocmp.IgnoreUnknown()); diff != "" {
		t.Errorf("v1.0 view of current bytes (-want +got):\n%s", diff)
	}
	spot := map[protoreflect.Name]string{"sku": "KNIFE-CHEF-20", "category": "kitchen/knives", "thumbnail_url": ""}
	for name, want := range spot {
		if got := getString(old, name); got != want {
			t.Errorf("v1.0 %s = %q, want %q", name, got, want)
		}
	}
	if v, ok := unknownString(t, old.GetUnknown(), brandField); !ok || v != brand {
		t.Errorf("new brand (field %d) in v1.0 unknown fields = %q, %v; want %q", brandField, v, ok, brand)
	}

	// A v1.0 service that reads, then writes the product back loses
	// nothing it did not understand.
	again, err := proto.Marshal(old.Interface())
	if err != nil {
		t.Fatal(err)
	}
	var back catalogv1.Product
	if err := proto.Unmarshal(again, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(productV1(), &back, protocmp.Transform()); diff != "" {
		t.Errorf("current view after a round trip through v1.0 (-want +got):\n%s", diff)
	}
}

// TestFieldNumbersNeverReused checks the rule buf breaking enforces on the
// proto against the frozen v1.0 schema, whatever the git history: every
// v1.0 field is still declared with the same name, type and cardinality,
// or its number and name are both reserved.
func TestFieldNumbersNeverReused(t *testing.T) {
	oldMD := oldProductType(t).Descriptor()
	newMD := (&catalogv1.Product{}).ProtoReflect().Descriptor()
	for i := range oldMD.Fields().Len() {
		of := oldMD.Fields().Get(i)
		nf := newMD.Fields().ByNumber(of.Number())
		if nf == nil {
			if !newMD.ReservedRanges().Has(of.Number()) || !newMD.ReservedNames().Has(of.Name()) {
				t.Errorf("v1.0 field %s = %d was removed without reserving its number and name", of.Name(), of.Number())
			}
			continue
		}
		if nf.Name() != of.Name() || nf.Kind() != of.Kind() || nf.Cardinality() != of.Cardinality() ||
			nf.IsMap() != of.IsMap() || fullName(nf) != fullName(of) {
			t.Errorf("field %d: v1.0 %s %v %v, now %s %v %v: a number must keep its meaning",
				of.Number(), of.Name(), of.Kind(), fullName(of), nf.Name(), nf.Kind(), fullName(nf))
		}
	}

	legacy := newMD.Fields().ByNumber(legacyCategoryPathField)
	if opts, ok := legacy.Options().(*descriptorpb.FieldOptions); !ok || !opts.GetDeprecated() {
		t.Errorf("%s is not marked deprecated", legacy.FullName())
	}
	if f := newMD.Fields().ByNumber(brandField); f == nil || f.Name() != "brand" || oldMD.Fields().ByNumber(brandField) != nil {
		t.Errorf("field %d should be brand, new in v1.1", brandField)
	}
	if newMD.Fields().ByNumber(thumbnailURLField) != nil {
		t.Errorf("field %d (thumbnail_url) must stay removed", thumbnailURLField)
	}
}

// fullName is the message or enum type of a field, "" for scalars.
func fullName(f protoreflect.FieldDescriptor) protoreflect.FullName {
	switch {
	case f.Message() != nil:
		return f.Message().FullName()
	case f.Enum() != nil:
		return f.Enum().FullName()
	}
	return ""
}
