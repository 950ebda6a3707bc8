package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func openFDs() map[int]string {
	fds := map[int]string{}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fds
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil {
			continue // the fd ReadDir itself used, closed by now
		}
		fds[fd] = target
	}
	return fds
}

// children lists the pids of this process's children, running or zombie.
func children() []int {
	var pids []int
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// Children is the exported form of children, for tests that check a
// specific operation reaped what it started.
func Children() []int { return children() }

func memfdMappings() int {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "/memfd:")
}

// MemfdMappings counts this process's mappings of memfd files.
func MemfdMappings() int { return memfdMappings() }

// OpenFDs lists this process's open descriptors and what they point at.
func OpenFDs() map[int]string { return openFDs() }

// Alive reports whether process pid exists and is still running: not gone,
// and not a zombie (or dead) waiting for whoever it was reparented to.
func Alive(pid int) bool {
	f, err := ProcStat(pid)
	if err != nil {
		return false
	}
	if len(f) == 0 || f[0] == "" {
		return true // unreadable format: assume it runs rather than hide a leak
	}
	return f[0][0] != 'Z' && f[0][0] != 'X'
}

// ProcStat returns the fields of /proc/pid/stat that follow the command
// name, so f[0] is the state (field 3 in proc(5)), f[11] utime, f[12] stime.
// The name may hold spaces and ')', so the fields start after the last ')'.
func ProcStat(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("/proc/%d/stat: no ')' after the command name", pid)
	}
	return strings.Fields(s[i+1:]), nil
}

// userHZ is the unit of the times in /proc/pid/stat: USER_HZ, 100 on every
// Linux architecture Go supports (sysconf(_SC_CLK_TCK) needs cgo).
const userHZ = 100

// CPUTime returns the user and system CPU time process pid has used, in
// steps of 1/userHZ (10 ms).
func CPUTime(pid int) (time.Duration, error) {
	f, err := ProcStat(pid)
	if err != nil {
		return 0, err
	}
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the name, want at least 13", pid, len(f))
	}
	var ticks int64
	for _, field := range f[11:13] {
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: cpu time %q: %w", pid, field, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}
