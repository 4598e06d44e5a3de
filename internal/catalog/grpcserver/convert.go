package grpcserver

import (
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	"github.com/bazaarhq/bazaar/internal/catalog"
)

func moneyProto(m catalog.Money) *money.Money {
	return &money.Money{CurrencyCode: m.Currency, Units: m.Units, Nanos: m.Nanos}
}

func moneyOf(m *money.Money) catalog.Money {
	return catalog.Money{Currency: m.GetCurrencyCode(), Units: m.GetUnits(), Nanos: m.GetNanos()}
}

// optionalMoney maps an optional filter amount: nil stays nil.
func optionalMoney(m *money.Money) *catalog.Money {
	if m == nil {
		return nil
	}
	v := moneyOf(m)
	return &v
}

func productProto(p *catalog.Product) *catalogv1.Product {
	out := &catalogv1.Product{
		Id: p.ID, Sku: p.SKU, Title: p.Title, Description: p.Description, Brand: p.Brand, Category: p.Category,
		Price: moneyProto(p.Price), Attributes: p.Attributes, Status: catalogv1.ProductStatus(p.Status),
		CreateTime: timestamppb.New(p.CreateTime), UpdateTime: timestamppb.New(p.UpdateTime), Etag: p.Etag(),
	}
	for _, img := range p.Images {
		out.Images = append(out.Images, imageProto(img))
	}
	switch k := p.Kind; k.Type {
	case catalog.KindPhysical:
		ph := &catalogv1.PhysicalGoods{WeightGrams: k.WeightGrams}
		if k.LengthMM != 0 || k.WidthMM != 0 || k.HeightMM != 0 {
			ph.Dimensions = &catalogv1.Dimensions{LengthMm: k.LengthMM, WidthMm: k.WidthMM, HeightMm: k.HeightMM}
		}
		out.Kind = &catalogv1.Product_Physical{Physical: ph}
	case catalog.KindDigital:
		out.Kind = &catalogv1.Product_Digital{Digital: &catalogv1.DigitalGoods{DownloadSizeBytes: k.DownloadSizeBytes}}
	case catalog.KindGiftCard:
		out.Kind = &catalogv1.Product_GiftCard{GiftCard: &catalogv1.GiftCard{
			MinAmount: moneyProto(k.MinAmount), MaxAmount: moneyProto(k.MaxAmount),
		}}
	case catalog.KindNone:
	}
	if !p.PartnerMetadata.IsZero() {
		out.PartnerMetadata = &anypb.Any{TypeUrl: p.PartnerMetadata.TypeURL, Value: p.PartnerMetadata.Value}
	}
	return out
}

// productOf maps the caller-settable fields of a product message; id and
// etag are the caller's, the rest (times, images) are output only.
func productOf(p *catalogv1.Product) *catalog.Product {
	out := &catalog.Product{
		ID: p.GetId(), SKU: p.GetSku(), Title: p.GetTitle(), Description: p.GetDescription(), Brand: p.GetBrand(),
		Category: p.GetCategory(), Price: moneyOf(p.GetPrice()), Attributes: p.GetAttributes(),
		Status: catalog.Status(p.GetStatus()),
	}
	switch k := p.GetKind().(type) {
	case *catalogv1.Product_Physical:
		d := k.Physical.GetDimensions()
		out.Kind = catalog.Kind{
			Type: catalog.KindPhysical, WeightGrams: k.Physical.GetWeightGrams(),
			LengthMM: d.GetLengthMm(), WidthMM: d.GetWidthMm(), HeightMM: d.GetHeightMm(),
		}
	case *catalogv1.Product_Digital:
		out.Kind = catalog.Kind{Type: catalog.KindDigital, DownloadSizeBytes: k.Digital.GetDownloadSizeBytes()}
	case *catalogv1.Product_GiftCard:
		out.Kind = catalog.Kind{
			Type: catalog.KindGiftCard, MinAmount: moneyOf(k.GiftCard.GetMinAmount()), MaxAmount: moneyOf(k.GiftCard.GetMaxAmount()),
		}
	}
	if a := p.GetPartnerMetadata(); a != nil {
		out.PartnerMetadata = catalog.PartnerMetadata{TypeURL: a.GetTypeUrl(), Value: a.GetValue()}
	}
	return out
}

func imageProto(img catalog.ImageRef) *catalogv1.ImageRef {
	return &catalogv1.ImageRef{Id: img.ID, ContentType: img.ContentType, SizeBytes: img.SizeBytes, Sha256: img.SHA256}
}

func orderOf(o catalogv1.ProductOrder) catalog.ProductOrder {
	switch o {
	case catalogv1.ProductOrder_PRODUCT_ORDER_PRICE_ASC:
		return catalog.OrderPriceAsc
	case catalogv1.ProductOrder_PRODUCT_ORDER_PRICE_DESC:
		return catalog.OrderPriceDesc
	case catalogv1.ProductOrder_PRODUCT_ORDER_UNSPECIFIED, catalogv1.ProductOrder_PRODUCT_ORDER_UPDATE_TIME_DESC:
	}
	return catalog.OrderUpdateTimeDesc
}

func stockProto(s catalog.Stock) *catalogv1.Stock {
	return &catalogv1.Stock{Sku: s.SKU, Available: s.Available, Reserved: s.Reserved, Sold: s.Sold}
}

func reservationProto(r *catalog.Reservation) *catalogv1.Reservation {
	out := &catalogv1.Reservation{
		Id: r.ID, State: catalogv1.ReservationState(r.State), ExpireTime: timestamppb.New(r.ExpireTime),
	}
	for _, it := range r.Items {
		out.Items = append(out.Items, &catalogv1.ReservationItem{Sku: it.SKU, Quantity: it.Quantity})
	}
	return out
}
