package codec_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/shmpool/shmpool/codec"
)

// sample is a typical fixed-size record: 40 bytes.
type sample struct {
	X, Y  float64
	ID    uint32
	Flags [4]bool
	Kind  int16
	_     [2]byte
	Seq   uint64
	Tag   [4]byte
}

var sampleValue = sample{X: 1.5, Y: -2.25, ID: 7, Flags: [4]bool{true, false, true, false}, Kind: -3, Seq: 1 << 40, Tag: [4]byte{'a', 'b', 'c', 'd'}}

// BenchmarkBinary compares the Binary codec with encoding/binary, its
// baseline, on the same struct, encoding into a reused buffer and
// decoding: figures per value.
func BenchmarkBinary(b *testing.B) {
	c := codec.MustBinary[sample]()
	size := binary.Size(sample{})
	enc, err := c.Append(nil, sampleValue)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("codec=Binary/op=Append", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		buf := make([]byte, 0, size)
		for b.Loop() {
			buf, _ = c.Append(buf[:0], sampleValue)
		}
	})
	b.Run("codec=encoding-binary/op=Append", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		buf := make([]byte, 0, size)
		for b.Loop() {
			buf, _ = binary.Append(buf[:0], binary.LittleEndian, sampleValue)
		}
	})
	b.Run("codec=Binary/op=Decode", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Decode(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("codec=encoding-binary/op=Decode", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		for b.Loop() {
			var v sample
			if _, err := binary.Decode(enc, binary.LittleEndian, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("codec=encoding-binary-Read/op=Decode", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		for b.Loop() {
			var v sample
			if err := binary.Read(bytes.NewReader(enc), binary.LittleEndian, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
