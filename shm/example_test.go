//go:build linux

package shm_test

import (
	"fmt"
	"log"
	"os"

	"golang.org/x/sys/unix"

	"github.com/shmpool/shmpool/shm"
)

func ExampleCreate() {
	seg, err := shm.Create("example", os.Getpagesize())
	if err != nil {
		log.Fatal(err)
	}
	defer seg.Close()

	copy(seg.Bytes(), "hello")
	fmt.Println(seg.Name(), seg.Size() == os.Getpagesize(), string(seg.Bytes()[:5]))
	// Output: shmpool:example true hello
}

// A child process would call shm.FromFD(3, size) on the descriptor it
// inherited through exec.Cmd.ExtraFiles; here a dup of the descriptor plays
// that part.
func ExampleFromFD() {
	seg, err := shm.Create("parent", os.Getpagesize())
	if err != nil {
		log.Fatal(err)
	}
	defer seg.Close()

	fd, err := unix.Dup(int(seg.File().Fd()))
	if err != nil {
		log.Fatal(err)
	}
	child, err := shm.FromFD(fd, seg.Size())
	if err != nil {
		log.Fatal(err)
	}
	defer child.Close()

	copy(seg.Bytes(), "ping")
	fmt.Println(string(child.Bytes()[:4]))
	// Output: ping
}

func ExampleOpenReadOnly() {
	seg, err := shm.Create("inspect-me", os.Getpagesize())
	if err != nil {
		log.Fatal(err)
	}
	defer seg.Close()
	copy(seg.Bytes(), "status")

	ro, err := shm.OpenReadOnly(fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), seg.File().Fd()))
	if err != nil {
		log.Fatal(err)
	}
	defer ro.Close()
	fmt.Println(ro.Name(), ro.ReadOnly(), string(ro.Bytes()[:6]))
	// Output: shmpool:inspect-me true status
}
