package shm

import (
	"os"

	mmap "github.com/edsrzf/mmap-go"
)

// This is the only file that imports mmap-go (see DESIGN.md, "Layout").

// mapping is one MAP_SHARED mapping of a whole file. It keeps the exact
// MMap value that mmap returned, because munmap accepts only that slice,
// never a subslice.
type mapping struct {
	m mmap.MMap
}

// mapFile maps the first size bytes of f, shared, read/write or read-only.
func mapFile(f *os.File, size int, readOnly bool) (mapping, error) {
	prot := mmap.RDWR
	if readOnly {
		prot = mmap.RDONLY
	}
	m, err := mmap.MapRegion(f, size, prot, 0, 0)
	if err != nil {
		return mapping{}, err
	}
	return mapping{m: m}, nil
}

// bytes returns the mapped memory, with its capacity clipped to its length.
func (m *mapping) bytes() []byte {
	return m.m[:len(m.m):len(m.m)]
}

// unmap releases the mapping. A second call does nothing.
func (m *mapping) unmap() error {
	if m.m == nil {
		return nil
	}
	return m.m.Unmap()
}
