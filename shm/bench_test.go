//go:build linux

package shm_test

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/shmpool/shmpool/shm"
)

// BenchmarkPageTouch measures what the first write to each page of a fresh
// segment costs (a page fault: the kernel allocates and maps the page),
// the first write through a second mapping of pages that exist (what the
// worker pays for pages the parent wrote), and writing to mapped pages
// again. One op is one page. A ring's first lap pays the first costs for
// every page it crosses, in each process; so does fresh heap memory, such
// as a new result buffer.
//
//	go test -run='^$' -bench=PageTouch ./shm/
func BenchmarkPageTouch(b *testing.B) {
	const size = 16 << 20
	page := os.Getpagesize()
	pages := size / page
	newSegment := func() *shm.Segment {
		seg, err := shm.Create("touch", size)
		if err != nil {
			b.Fatal(err)
		}
		return seg
	}
	b.Run("first", func(b *testing.B) {
		touchFresh(b, page, func() ([]byte, func()) {
			seg := newSegment()
			return seg.Bytes(), func() { seg.Close() }
		})
	})
	b.Run("second-mapping", func(b *testing.B) {
		touchFresh(b, page, func() ([]byte, func()) {
			seg := newSegment()
			for off := 0; off < size; off += page {
				seg.Bytes()[off] = 1
			}
			fd, err := unix.Dup(int(seg.File().Fd()))
			if err != nil {
				b.Fatal(err)
			}
			other, err := shm.FromFD(fd, size)
			if err != nil {
				b.Fatal(err)
			}
			return other.Bytes(), func() { other.Close(); seg.Close() }
		})
	})
	b.Run("again", func(b *testing.B) {
		seg := newSegment()
		defer seg.Close()
		mem := seg.Bytes()
		for i := 0; i < size; i += page {
			mem[i] = 1
		}
		i := 0
		for b.Loop() {
			mem[i*page]++
			i = (i + 1) % pages
		}
	})
}

// touchFresh writes to one page per op of memory that fresh maps, untimed,
// whenever the last mapping has been written through, and releases each
// mapping after.
func touchFresh(b *testing.B, page int, fresh func() (mem []byte, release func())) {
	var mem []byte
	release := func() {}
	off := 0
	for b.Loop() {
		if off == len(mem) {
			b.StopTimer()
			release()
			mem, release = fresh()
			off = 0
			b.StartTimer()
		}
		mem[off] = 1
		off += page
	}
	release()
}
