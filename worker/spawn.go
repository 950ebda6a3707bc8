package worker

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/shmpool/shmpool/internal/proto"
)

// The handshake: a worker process finds these in its environment. The
// cookie is also written into the segment header, so a worker checks that
// the memory it maps was made for it.
const (
	envCookie  = "SHMPOOL_WORKER_COOKIE"
	envVersion = "SHMPOOL_WORKER_PROTOCOL"
	envSize    = "SHMPOOL_WORKER_SEGMENT_SIZE"
	envSpin    = "SHMPOOL_WORKER_SPIN_NS"
)

// The worker's inherited descriptors, in exec.Cmd.ExtraFiles order (entry i
// becomes descriptor 3+i).
const (
	fdSegment    = 3 // the sealed memfd
	fdWorkerBell = 4 // eventfd: the parent wakes the worker (requests, room for results)
	fdResultBell = 5 // eventfd: the worker wakes the parent's receiver (results)
	fdRoomBell   = 6 // eventfd: the worker wakes a parent sender (room for requests)
	fdLifeline   = 7 // read end of a pipe only the parent can write: EOF means the parent is gone
)

// newCookie returns the handshake token a worker must present. It pairs a
// worker with its segment and tells a process started by hand that it is
// not a worker; it is not a secret (whoever holds the descriptors holds the
// memory), so math/rand/v2's runtime-seeded generator does: crypto/rand
// would link and initialise Go's FIPS crypto module in every worker (a
// program that calls crypto/rand.Read initialises 14 crypto packages in
// 0.14-0.28 ms on a 2-vCPU VM, by GODEBUG=inittrace=1, five runs).
func newCookie() uint64 { return rand.Uint64() | 1 } // never 0

// command builds the worker's exec.Cmd.
func command(cfg Config, cookie uint64, segSize int, spin int64, files []*os.File, stderr io.Writer) (*exec.Cmd, error) {
	path := cfg.Path
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("worker: find own binary: %w", err)
		}
		path = exe
	}
	cmd := exec.Command(path, cfg.Args...)
	cmd.Env = append(append(os.Environ(), cfg.Env...),
		envCookie+"="+strconv.FormatUint(cookie, 16),
		envVersion+"="+strconv.FormatUint(uint64(proto.ProtocolVersion), 10),
		envSize+"="+strconv.Itoa(segSize),
		envSpin+"="+strconv.FormatInt(spin, 10),
	)
	cmd.ExtraFiles = files
	cmd.Stderr = stderr
	// A grandchild that inherited the worker's stderr must not keep Wait
	// (and so Close) blocked once the worker itself has exited.
	cmd.WaitDelay = time.Second
	// Pdeathsig is a second line of defence only: the kernel sends it when
	// the thread that started the child exits (golang/go#27505), so
	// startProcess forks from a thread that ends only with the process.
	// The lifeline pipe is the one that holds.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd, nil
}

// tail keeps the last bytes written to it: the end of a worker's stderr,
// for error messages. It also keeps the start of the first Go crash report
// it sees ("panic: ..." or "fatal error: ..." at the start of a line, with
// the "[signal SIGSEGV ...]" line after it): a crashing Go program writes
// the cause first and then every goroutine's stack, which would push the
// cause out of the tail. Safe for concurrent use.
type tail struct {
	mu    sync.Mutex
	buf   []byte
	crash []byte // the first crashSize bytes of the first crash report
}

const (
	tailSize  = 4096
	crashSize = 1024
)

// crashMarks start the lines that begin a Go crash report.
var crashMarks = [][]byte{[]byte("panic: "), []byte("fatal error: ")}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	from := len(t.buf)
	t.buf = append(t.buf, p...)
	switch {
	case t.crash == nil:
		if i := crashStart(t.buf, max(from-len("fatal error: "), 0)); i >= 0 {
			t.crash = append([]byte(nil), t.buf[i:min(len(t.buf), i+crashSize)]...)
		}
	case len(t.crash) < crashSize:
		t.crash = append(t.crash, p[:min(len(p), crashSize-len(t.crash))]...)
	}
	if len(t.buf) > tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
	return len(p), nil
}

// crashStart returns the index of the first crash mark at the start of a
// line in b at or after from, or -1.
func crashStart(b []byte, from int) int {
	first := -1
	for _, mark := range crashMarks {
		for i := from; ; i++ {
			j := bytes.Index(b[i:], mark)
			if j < 0 {
				break
			}
			if i += j; i == 0 || b[i-1] == '\n' {
				if first < 0 || i < first {
					first = i
				}
				break
			}
		}
	}
	return first
}

// String returns the tail, preceded by the start of the first crash report
// when the tail no longer holds it.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.crash == nil {
		return string(t.buf)
	}
	first, _, _ := bytes.Cut(t.crash, []byte("\n"))
	if bytes.Contains(t.buf, first) {
		return string(t.buf)
	}
	return string(t.crash) + "\n[...]\n" + string(t.buf)
}
