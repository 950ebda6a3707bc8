package codec

// Bytes returns the codec of raw bytes: Append appends them as they are,
// and Decode returns a copy (never nil, possibly empty), since data may
// alias shared memory. It never fails.
func Bytes() Codec[[]byte] { return bytesCodec{} }

type bytesCodec struct{}

func (bytesCodec) Append(dst []byte, v []byte) ([]byte, error) { return append(dst, v...), nil }

func (bytesCodec) Decode(data []byte) ([]byte, error) { return append([]byte{}, data...), nil }

// String returns the codec of strings: their bytes as they are, with no
// length and no check of UTF-8 (a Go string may hold any bytes). Decode
// copies. It never fails.
func String() Codec[string] { return stringCodec{} }

type stringCodec struct{}

func (stringCodec) Append(dst []byte, v string) ([]byte, error) { return append(dst, v...), nil }

func (stringCodec) Decode(data []byte) (string, error) { return string(data), nil }
