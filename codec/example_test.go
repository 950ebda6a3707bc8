package codec_test

import (
	"errors"
	"fmt"

	"github.com/shmpool/shmpool/codec"
)

func ExampleBinary() {
	type Point struct{ X, Y int32 }
	c, err := codec.Binary[Point]()
	if err != nil {
		panic(err)
	}
	b, _ := c.Append(nil, Point{X: 1, Y: -2})
	fmt.Printf("% x\n", b)
	p, _ := c.Decode(b)
	fmt.Println(p)

	_, err = c.Decode(b[:5])
	var de *codec.DecodeError
	fmt.Println(errors.As(err, &de), de.Codec, de.Type)
	fmt.Println(err)

	_, err = codec.Binary[struct{ Names []string }]()
	fmt.Println(errors.Is(err, codec.ErrNotFixedSize))
	// Output:
	// 01 00 00 00 fe ff ff ff
	// {1 -2}
	// true binary codec_test.Point
	// codec binary: cannot decode codec_test.Point: 5 bytes, want 8
	// true
}

func ExampleJSON() {
	type Job struct {
		Name string
		Size int
	}
	c := codec.JSON[Job]()
	b, _ := c.Append(nil, Job{Name: "a", Size: 3})
	fmt.Println(string(b))
	_, err := c.Decode([]byte(`{"Name":"a","Colour":"red"}`))
	fmt.Println(err)
	// Output:
	// {"Name":"a","Size":3}
	// codec json: cannot decode codec_test.Job: json: unknown field "Colour"
}
