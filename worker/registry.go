package worker

import (
	"context"
	"fmt"
	"sync"
)

// Func is a user function run in a worker process. in aliases shared
// memory and is valid only until the function returns: copy what you keep.
// The returned slice is copied once into the response ring.
type Func func(ctx context.Context, in []byte) ([]byte, error)

// registry maps names to factories. It is the package's one piece of global
// state, because a re-executed worker can only find its function by name
// (like moby's reexec.Register). Safe for concurrent use.
var registry = struct {
	sync.RWMutex
	m map[string]func(static []byte) (Func, error)
}{m: map[string]func([]byte) (Func, error){}}

// Register makes fn callable by name in worker processes. Call it from an
// init function (or before Main) so that the worker, which is the same
// binary, registers it too. It panics on an empty or duplicate name: a
// programming error caught at start-up. For a function a pool.Pool runs,
// use pool.Register instead: it registers here too, and lets the pool
// batch small items into one ring message (many times the throughput).
func Register(name string, fn Func) {
	if fn == nil {
		panic(fmt.Sprintf("worker: Register(%q) with a nil function", name))
	}
	RegisterFactory(name, func([]byte) (Func, error) { return fn, nil })
}

// RegisterFactory registers a function that is built from static data,
// once per configuration (Start, SetFunc) in the worker: load a model, parse
// a configuration, open a database. The factory's error fails Start or
// SetFunc. It panics on an empty or duplicate name.
func RegisterFactory(name string, newFunc func(static []byte) (Func, error)) {
	if name == "" || newFunc == nil {
		panic(fmt.Sprintf("worker: RegisterFactory(%q) with an empty name or a nil factory", name))
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[name]; dup {
		panic(fmt.Sprintf("worker: function %q registered twice", name))
	}
	registry.m[name] = newFunc
}

func lookup(name string) (func([]byte) (Func, error), bool) {
	registry.RLock()
	defer registry.RUnlock()
	f, ok := registry.m[name]
	return f, ok
}
