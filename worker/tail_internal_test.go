package worker

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// goCrash is the start of what the Go runtime prints when a program dies
// of a fault; the goroutine dump that follows it is much longer than the
// tail.
const goCrash = "fatal error: fault\n[signal SIGSEGV: segmentation violation code=0x2 addr=0x7f0000000000 pc=0x4a1b2c]\n\ngoroutine 1 gp=0xc000002380 m=0 mp=0x5f6e40 [running]:\n"

func TestTailKeepsTheCrashReportsStart(t *testing.T) {
	dump := strings.Repeat("runtime.gopark(0x0?, 0x0?, 0x0?)\n\t/usr/lib/go/src/runtime/proc.go:435 +0xce\n", 500)
	tests := []struct {
		name   string
		chunks []string // written in this order
		want   []string // String() contains these, in this order
		absent []string
	}{
		{
			name:   "short stderr is kept whole",
			chunks: []string{"hello\n", "world\n"},
			want:   []string{"hello\nworld\n"},
			absent: []string{"[...]"},
		},
		{
			name:   "the cause of a crash survives its goroutine dump",
			chunks: []string{"some log line\n", goCrash, dump, "exit status 2\n"},
			want:   []string{"fatal error: fault", "[signal SIGSEGV", "[...]", "exit status 2\n"},
			absent: []string{"some log line"},
		},
		{
			name:   "a mark split across writes is found",
			chunks: []string{"log\nfatal er", "ror: unexpected signal\n", dump},
			want:   []string{"fatal error: unexpected signal", "[...]"},
		},
		{
			name:   "the earliest of two marks wins",
			chunks: []string{"panic: first\n", "fatal error: second\n", dump},
			want:   []string{"panic: first\nfatal error: second", "[...]"},
		},
		{
			name:   "a mark in the middle of a line is not a crash",
			chunks: []string{"the word panic: here\n", dump},
			absent: []string{"[...]", "the word"},
		},
		{
			name:   "a crash still in the tail is not repeated",
			chunks: []string{dump, goCrash, "goroutine 2\n"},
			want:   []string{"fatal error: fault"},
			absent: []string{"[...]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tl tail
			for _, c := range tt.chunks {
				n, err := fmt.Fprint(&tl, c)
				assert.NoError(t, err)
				assert.Equal(t, len(c), n)
			}
			got := tl.String()
			assert.LessOrEqual(t, len(got), crashSize+len("\n[...]\n")+tailSize)
			rest := got
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if !assert.GreaterOrEqual(t, i, 0, "%q missing (in order) from %q", w, got) {
					break
				}
				rest = rest[i+len(w):]
			}
			for _, a := range tt.absent {
				assert.NotContains(t, got, a)
			}
			last := tt.chunks[len(tt.chunks)-1]
			assert.True(t, strings.HasSuffix(got, last[max(0, len(last)-100):]), "the last write ends the tail")
		})
	}
}
