package testutil

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces and ')', so the state
	// follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return true // unreadable format: assume it runs rather than hide a leak
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}
