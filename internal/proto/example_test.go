package proto_test

import (
	"fmt"

	"github.com/shmpool/shmpool/internal/proto"
)

// The parent plans and writes the header; the worker decodes it from the
// mapped segment.
func ExamplePlan() {
	h, err := proto.Plan(512, 4<<20+proto.PageSize) // a 4 MiB ring plus its header page
	if err != nil {
		panic(err)
	}
	h.Cookie, h.MaxPayload = 0x5eed, 64<<20
	seg := make([]byte, h.SegmentSize) // in real use: the memfd mapping
	if err := h.Encode(seg); err != nil {
		panic(err)
	}

	got, err := proto.Decode(seg)
	if err != nil {
		panic(err)
	}
	fmt.Println("header  ", proto.HeaderSize, "bytes")
	fmt.Println("status  ", got.Status.Off, got.Status.Len)
	fmt.Println("request ", got.Request.Off, got.Request.Len)
	fmt.Println("response", got.Response.Off, got.Response.Len)
	fmt.Println("segment ", got.SegmentSize)
	// Output:
	// header   88 bytes
	// status   128 512
	// request  4096 4198400
	// response 4202496 4198400
	// segment  8400896
}

func ExampleAppendRemoteError() {
	b := proto.AppendRemoteError(nil, proto.RemoteError{Func: "upper", Message: "bad input"})
	e, err := proto.DecodeRemoteError(b)
	fmt.Printf("%d bytes, %+v, %v\n", len(b), e, err)
	// Output: 19 bytes, {Code:0 Func:upper Message:bad input Panic:false Stack:}, <nil>
}
