package pool

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/shmpool/shmpool/worker"
)

// Batching: several small items travel in one ring message, framed by the
// pool, and a wrapper function registered in every binary that imports
// this package unpacks them in the worker and calls the user's function on
// each. The wrapper must build the user's function by name, and package
// worker does not export its registry, so only functions registered through
// Register or RegisterFactory below (which also register them with package
// worker) can be batched. Other functions run one item per message.
//
// While the wrapper is a worker's function, a message is either a raw item
// (passed to the user's function as is, the common case for large items) or
// a batch frame, told apart by batchMagic at its start; an item that itself
// begins with batchMagic travels as a batch of one.
//
// Request frame (parent to worker), little endian:
//
//	magic [8]byte | count uint32 | count x (len uint32 | bytes)
//
// Response frame (worker to parent):
//
//	elapsed uint64 | count x (tag uint32 | len uint32 | bytes)
//
// where elapsed is the nanoseconds the worker spent running the items (the
// pool sizes batches by it)
// and tag is tagOK (bytes = result), tagError (bytes = message), tagPanic
// (bytes = len uint32 | message | stack), tagTooLarge (bytes = size
// uint64: the result alone exceeds MaxPayload) or tagSkipped (len 0: not run
// because the response would have exceeded MaxPayload; the parent runs it
// again on its own).

// batchFunc is the worker-registry name of the wrapper.
const batchFunc = "shmpool/pool.batch"

var batchMagic = [8]byte{0xff, 'S', 'H', 'M', 'B', 'A', 'T', 0x01}

const (
	tagOK uint32 = iota
	tagError
	tagPanic
	tagTooLarge
	tagSkipped
)

const (
	reqHeader  = 12 // magic and count
	itemHeader = 4  // request item: len
	respHeader = 8  // response item: tag and len
	respPrefix = 8  // response: elapsed
)

// errBadFrame reports a malformed frame.
var errBadFrame = errors.New("malformed batch frame")

// registry maps the names registered through this package to their
// factories, for the wrapper. It is filled from init functions in both
// processes, like package worker's.
var registry = struct {
	sync.RWMutex
	m map[string]func(static []byte) (worker.Func, error)
}{m: map[string]func([]byte) (worker.Func, error){}}

func init() {
	worker.RegisterFactory(batchFunc, newBatchFunc)
}

// Register is worker.Register, and also lets the pool batch small items
// for the function: many items travel in one ring message and the function
// is called on each in the worker. Call it from an init function. It panics
// on an empty or duplicate name, like worker.Register.
func Register(name string, fn worker.Func) {
	if fn == nil {
		panic(fmt.Sprintf("pool: Register(%q) with a nil function", name))
	}
	RegisterFactory(name, func([]byte) (worker.Func, error) { return fn, nil })
}

// RegisterFactory is worker.RegisterFactory, and also lets the pool batch
// small items for the function (see Register).
func RegisterFactory(name string, newFunc func(static []byte) (worker.Func, error)) {
	worker.RegisterFactory(name, newFunc) // panics on a bad or duplicate name
	registry.Lock()
	defer registry.Unlock()
	registry.m[name] = newFunc
}

func lookup(name string) (func([]byte) (worker.Func, error), bool) {
	registry.RLock()
	defer registry.RUnlock()
	f, ok := registry.m[name]
	return f, ok
}

// batchStatic encodes the wrapper's static data: the user's function name,
// the result budget of one response, and the user's static data.
func batchStatic(name string, maxOut int, static []byte) []byte {
	b := binary.AppendUvarint(nil, uint64(len(name)))
	b = append(b, name...)
	b = binary.AppendUvarint(b, uint64(maxOut))
	return append(b, static...)
}

func parseBatchStatic(b []byte) (name string, maxOut int, static []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return "", 0, nil, errBadFrame
	}
	name, b = string(b[k:k+int(n)]), b[k+int(n):]
	m, k := binary.Uvarint(b)
	if k <= 0 || m > 1<<62 {
		return "", 0, nil, errBadFrame
	}
	return name, int(m), b[k:], nil
}

// batcher is the wrapper's state in the worker: the user's function and a
// response buffer reused across messages (the worker copies a result into
// the ring before it calls the function again).
type batcher struct {
	name   string
	fn     worker.Func
	maxOut int
	buf    []byte
}

func newBatchFunc(static []byte) (worker.Func, error) {
	name, maxOut, inner, err := parseBatchStatic(static)
	if err != nil {
		return nil, fmt.Errorf("pool: batch wrapper: %w", err)
	}
	factory, ok := lookup(name)
	if !ok {
		return nil, fmt.Errorf("pool: function %q is not registered with pool.Register or pool.RegisterFactory in this binary", name)
	}
	fn, err := factory(inner)
	if err != nil {
		return nil, err
	}
	if fn == nil {
		return nil, errors.New("factory returned a nil function")
	}
	b := &batcher{name: name, fn: fn, maxOut: maxOut}
	return b.run, nil
}

func isBatch(in []byte) bool {
	return len(in) >= len(batchMagic) && [8]byte(in[:8]) == batchMagic
}

func (b *batcher) run(ctx context.Context, in []byte) ([]byte, error) {
	if !isBatch(in) {
		return b.fn(ctx, in)
	}
	if len(in) < reqHeader {
		return nil, fmt.Errorf("pool: batch wrapper: %w", errBadFrame)
	}
	count := int(binary.LittleEndian.Uint32(in[8:]))
	in = in[reqHeader:]
	if count > len(in)/itemHeader {
		return nil, fmt.Errorf("pool: batch wrapper: %w", errBadFrame)
	}
	start := time.Now()
	out := append(b.buf[:0], make([]byte, respPrefix)...)
	skipping := false
	for i := range count {
		if len(in) < itemHeader {
			return nil, fmt.Errorf("pool: batch wrapper: %w", errBadFrame)
		}
		n := binary.LittleEndian.Uint32(in)
		if uint64(n) > uint64(len(in)-itemHeader) {
			return nil, fmt.Errorf("pool: batch wrapper: %w", errBadFrame)
		}
		item := in[itemHeader : itemHeader+int(n) : itemHeader+int(n)]
		in = in[itemHeader+int(n):]
		// The rest of the response needs at least a header per item.
		rest := (count - i - 1) * respHeader
		if skipping || len(out)+respHeader+rest > b.maxOut {
			skipping = true
			out = appendItem(out, tagSkipped, nil)
			continue
		}
		res, err, stack := b.call(ctx, item)
		switch {
		case stack != nil:
			out = binary.LittleEndian.AppendUint32(out, tagPanic)
			out = binary.LittleEndian.AppendUint32(out, uint32(4+len(err)+len(stack)))
			out = binary.LittleEndian.AppendUint32(out, uint32(len(err)))
			out = append(append(out, err...), stack...)
		case err != "":
			out = appendItem(out, tagError, []byte(err))
		case len(res)+respHeader > b.maxOut:
			out = binary.LittleEndian.AppendUint32(out, tagTooLarge)
			out = binary.LittleEndian.AppendUint32(out, 8)
			out = binary.LittleEndian.AppendUint64(out, uint64(len(res)))
		case len(out)+respHeader+len(res)+rest > b.maxOut:
			// It ran, but its result does not fit with the others: the
			// parent runs it again on its own (see the package Caveats).
			skipping = true
			out = appendItem(out, tagSkipped, nil)
		default:
			out = appendItem(out, tagOK, res)
		}
	}
	binary.LittleEndian.PutUint64(out, uint64(time.Since(start)))
	b.buf = out
	return out, nil
}

func appendItem(out []byte, tag uint32, data []byte) []byte {
	out = binary.LittleEndian.AppendUint32(out, tag)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(data)))
	return append(out, data...)
}

// maxErrorText bounds an item's error text or stack, as package worker does.
const maxErrorText = 64 << 10

// call runs the function on one item, turning an error or a panic into
// text (stack is non-nil for a panic).
func (b *batcher) call(ctx context.Context, in []byte) (out []byte, errText string, stack []byte) {
	defer func() {
		if v := recover(); v != nil {
			errText = truncate(fmt.Sprint(v))
			stack = []byte(truncate(string(debug.Stack())))
			if stack == nil {
				stack = []byte{}
			}
		}
	}()
	out, err := b.fn(ctx, in)
	if err != nil {
		msg := truncate(err.Error())
		if msg == "" {
			msg = "error with empty text"
		}
		return nil, msg, nil
	}
	return out, "", nil
}

func truncate(s string) string {
	if len(s) > maxErrorText {
		return s[:maxErrorText] + "..."
	}
	return s
}

// appendRequest appends the batch frame of items to dst.
func appendRequest(dst []byte, items []*task) []byte {
	dst = append(dst, batchMagic[:]...)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(items)))
	for _, t := range items {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(t.in)))
		dst = append(dst, t.in...)
	}
	return dst
}

// itemResult is one item's outcome in a response frame.
type itemResult struct {
	tag   uint32
	data  []byte // the result, the error text, or the panic message
	stack []byte // a panic's stack
	size  uint64 // tagTooLarge: the result's size
}

// parseResponse decodes a response frame of count items, calling fn for
// each in order, and returns the worker's time running them. The frame
// comes from the worker: every length is checked. Results alias resp with
// their capacity cut, so appending to one never touches the next.
func parseResponse(resp []byte, count int, fn func(i int, r itemResult)) (time.Duration, error) {
	if len(resp) < respPrefix {
		return 0, errBadFrame
	}
	elapsed := time.Duration(min(binary.LittleEndian.Uint64(resp), 1<<62))
	resp = resp[respPrefix:]
	for i := range count {
		if len(resp) < respHeader {
			return 0, errBadFrame
		}
		tag := binary.LittleEndian.Uint32(resp)
		n := binary.LittleEndian.Uint32(resp[4:])
		if uint64(n) > uint64(len(resp)-respHeader) {
			return 0, errBadFrame
		}
		data := resp[respHeader : respHeader+int(n) : respHeader+int(n)]
		resp = resp[respHeader+int(n):]
		r := itemResult{tag: tag, data: data}
		switch tag {
		case tagOK, tagError:
		case tagPanic:
			if len(data) < 4 {
				return 0, errBadFrame
			}
			m := binary.LittleEndian.Uint32(data)
			if uint64(m) > uint64(len(data)-4) {
				return 0, errBadFrame
			}
			r.data, r.stack = data[4:4+m:4+m], data[4+m:]
		case tagTooLarge:
			if len(data) != 8 {
				return 0, errBadFrame
			}
			r.size = binary.LittleEndian.Uint64(data)
		case tagSkipped:
			if n != 0 {
				return 0, errBadFrame
			}
		default:
			return 0, errBadFrame
		}
		fn(i, r)
	}
	if len(resp) != 0 {
		return 0, errBadFrame
	}
	return elapsed, nil
}
