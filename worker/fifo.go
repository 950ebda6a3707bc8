package worker

// fifo is a first-in first-out queue that keeps its backing array. Popping
// the front of a plain slice (q = q[1:]) strands the array's head, so that
// once such a queue drained, every append allocated again: 8 B per Execute
// for the calls in the request ring, more per Send for Recv's results.
type fifo[T any] struct {
	buf  []T // buf[head:] are the queued items, oldest first
	head int
}

func (q *fifo[T]) len() int { return len(q.buf) - q.head }

// push appends v, first moving the queued items to the front of the array
// when that makes room.
func (q *fifo[T]) push(v T) {
	if q.head > 0 && len(q.buf) == cap(q.buf) {
		n := copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf, q.head = q.buf[:n], 0
	}
	q.buf = append(q.buf, v)
}

// front returns the oldest item; the queue must not be empty.
func (q *fifo[T]) front() T { return q.buf[q.head] }

// back returns the newest item; the queue must not be empty.
func (q *fifo[T]) back() T { return q.buf[len(q.buf)-1] }

// popFront removes and returns the oldest item; the queue must not be empty.
func (q *fifo[T]) popFront() T {
	v := q.buf[q.head]
	var zero T
	q.buf[q.head] = zero // let the GC have it
	if q.head++; q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
	}
	return v
}

// popBack removes the newest item; the queue must not be empty.
func (q *fifo[T]) popBack() {
	var zero T
	q.buf[len(q.buf)-1] = zero
	q.buf = q.buf[:len(q.buf)-1]
	if q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
	}
}

// takeAll empties the queue and returns what it held, oldest first.
func (q *fifo[T]) takeAll() []T {
	all := q.buf[q.head:]
	q.buf, q.head = nil, 0
	return all
}
