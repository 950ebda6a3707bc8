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
	b.Run("first", func(b *testing.B) {
		var seg *shm.Segment
		var mem []byte
		i := pages
		for b.Loop() {
			if i == pages {
				// A fresh segment every 16 MiB; its creation is not timed.
				b.StopTimer()
				if seg != nil {
					seg.Close()
				}
				var err error
				if seg, err = shm.Create("touch", size); err != nil {
					b.Fatal(err)
				}
				mem, i = seg.Bytes(), 0
				b.StartTimer()
			}
			mem[i*page] = 1
			i++
		}
		seg.Close()
	})
	b.Run("second-mapping", func(b *testing.B) {
		var seg, other *shm.Segment
		var mem []byte
		i := pages
		for b.Loop() {
			if i == pages {
				b.StopTimer()
				if seg != nil {
					other.Close()
					seg.Close()
				}
				var err error
				if seg, err = shm.Create("touch", size); err != nil {
					b.Fatal(err)
				}
				for off := 0; off < size; off += page {
					seg.Bytes()[off] = 1
				}
				fd, err := unix.Dup(int(seg.File().Fd()))
				if err != nil {
					b.Fatal(err)
				}
				if other, err = shm.FromFD(fd, size); err != nil {
					b.Fatal(err)
				}
				mem, i = other.Bytes(), 0
				b.StartTimer()
			}
			mem[i*page] = 2
			i++
		}
		other.Close()
		seg.Close()
	})
	b.Run("again", func(b *testing.B) {
		seg, err := shm.Create("touch", size)
		if err != nil {
			b.Fatal(err)
		}
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
