package grpcx

import (
	"fmt"

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
	pool := mem.DefaultBufferPool()
	buf := pool.Get(size)
	if _, err := vt.MarshalToSizedBufferVT((*buf)[:size]); err != nil {
		pool.Put(buf)
		return nil, err
	}
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
}

func (codec) Unmarshal(data mem.BufferSlice, v any) error {
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	if vt, ok := v.(vtMessage); ok {
		// UnmarshalVT copies what it keeps (not the Unsafe variant), so
		// the buffer may go back to the pool.
		return vt.UnmarshalVT(buf.ReadOnlyData())
	}
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("grpcx: cannot unmarshal into %T, not a proto.Message", v)
	}
	return proto.Unmarshal(buf.ReadOnlyData(), m)
}

// protoMarshal is grpc-go's own proto marshalling, for messages without
// vtprotobuf methods.
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
	pool := mem.DefaultBufferPool()
	buf := pool.Get(size)
	if _, err := opts.MarshalAppend((*buf)[:0], m); err != nil {
		pool.Put(buf)
		return nil, err
	}
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
}

// codecServerOption and codecCallOption install Codec.
func codecServerOption() grpc.ServerOption { return grpc.ForceServerCodecV2(Codec) }
func codecCallOption() grpc.CallOption     { return grpc.ForceCodecV2(Codec) }
