package grpcx

import (
	"fmt"
	"math/bits"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// vtMessage is a message with vtprotobuf's generated encoding (gen/ has it
// for every Bazaar message: `protoc-gen-go-vtproto` in buf.gen.yaml).
type vtMessage interface {
	SizeVT() int
	MarshalToSizedBufferVT([]byte) (int, error)
	UnmarshalVT([]byte) error
}

// Codec is the protobuf codec of every grpcx server and client: the same
// wire format as grpc-go's default "proto" codec (and under its name, so
// peers see nothing different), but messages with vtprotobuf's generated
// methods are encoded and decoded by them instead of protobuf-go's
// reflection-driven tables: about half the CPU to marshal a page of 20
// products and two thirds to unmarshal it (docs/performance.md,
// "Comparisons"). Any other message (health, reflection, google.rpc
// details) goes through protobuf-go as before.
//
// It is set per server (grpc.ForceServerCodecV2) and per client
// (grpc.ForceCodecV2), not registered globally, so that importing grpcx
// changes no other gRPC code in the process.
var Codec encoding.CodecV2 = codec{}

type codec struct{}

func (codec) Name() string { return "proto" }

func (codec) Marshal(v any) (mem.BufferSlice, error) {
	vt, ok := v.(vtMessage)
	if !ok {
		return protoMarshal(v)
	}
	size := vt.SizeVT()
	if mem.IsBelowBufferPoolingThreshold(size) {
		buf := make([]byte, size)
		if _, err := vt.MarshalToSizedBufferVT(buf); err != nil {
			return nil, err
		}
		return mem.BufferSlice{mem.SliceBuffer(buf)}, nil
	}
	// MarshalToSizedBufferVT writes every byte of the buffer, so it
	// needs no zeroing: see gatherBuffers.
	buf := gatherBuffers.Get(size)
	if _, err := vt.MarshalToSizedBufferVT(*buf); err != nil {
		gatherBuffers.Put(buf)
		return nil, err
	}
	return mem.BufferSlice{mem.NewBuffer(buf, gatherBuffers)}, nil
}

func (codec) Unmarshal(data mem.BufferSlice, v any) error {
	// A message of several HTTP/2 frames is gathered into one buffer
	// first. Not from grpc-go's default pool: it zeroes the whole of the
	// buffer it hands out, and a 64 KiB upload chunk gets a 1 MiB one, so
	// every chunk cost a 1 MiB memclr (12% of the catalog's CPU while it
	// took uploads). Ours are sized to the next power of two and not
	// zeroed, since CopyTo overwrites what is read. Both decoders copy what
	// they keep, so the buffer may be reused at once.
	var b []byte
	switch {
	case len(data) == 1:
		b = data[0].ReadOnlyData()
	case len(data) > 1:
		buf := gatherBuffers.Get(data.Len())
		defer gatherBuffers.Put(buf)
		data.CopyTo(*buf)
		b = *buf
	}
	if vt, ok := v.(vtMessage); ok {
		return vt.UnmarshalVT(b)
	}
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("grpcx: cannot unmarshal into %T, not a proto.Message", v)
	}
	return proto.Unmarshal(b, m)
}

// gatherBuffers holds the buffers Unmarshal gathers messages into and
// Marshal encodes large ones into.
var gatherBuffers mem.BufferPool = &sizeClassPool{}

// sizeClassPool is a mem.BufferPool of byte slices by power-of-two size
// class that does not zero them: for users that overwrite all they read.
type sizeClassPool struct {
	classes [bits.UintSize]sync.Pool
}

// Get returns a slice of length n (whatever it held before).
func (p *sizeClassPool) Get(n int) *[]byte {
	if n <= 0 {
		return new([]byte)
	}
	c := bits.Len(uint(n - 1)) // the smallest c with 1<<c >= n
	if b, ok := p.classes[c].Get().(*[]byte); ok {
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n, 1<<c)
	return &b
}

// Put takes back a slice that Get returned.
func (p *sizeClassPool) Put(b *[]byte) {
	if cap(*b) == 0 {
		return
	}
	c := bits.Len(uint(cap(*b) - 1))
	if cap(*b) != 1<<c {
		return // not one of ours
	}
	p.classes[c].Put(b)
}

// protoMarshal is grpc-go's own proto marshalling, for messages without
// vtprotobuf methods, with large messages in gatherBuffers too.
func protoMarshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("grpcx: cannot marshal %T, not a proto.Message", v)
	}
	size := proto.Size(m)
	opts := proto.MarshalOptions{UseCachedSize: true} // the Size call above filled the cache
	if mem.IsBelowBufferPoolingThreshold(size) {
		buf, err := opts.Marshal(m)
		if err != nil {
			return nil, err
		}
		return mem.BufferSlice{mem.SliceBuffer(buf)}, nil
	}
	buf := gatherBuffers.Get(size) // filled whole by the append: no zeroing needed
	if _, err := opts.MarshalAppend((*buf)[:0], m); err != nil {
		gatherBuffers.Put(buf)
		return nil, err
	}
	return mem.BufferSlice{mem.NewBuffer(buf, gatherBuffers)}, nil
}

// codecServerOption and codecCallOption install Codec.
func codecServerOption() grpc.ServerOption { return grpc.ForceServerCodecV2(Codec) }
func codecCallOption() grpc.CallOption     { return grpc.ForceCodecV2(Codec) }
