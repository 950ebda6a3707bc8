package main

// chanTransport is the in-process baseline: a goroutine behind channels.
// The slice header travels; the peer copies the payload into its own buffer
// (one copy, as a receiver that keeps the data must), and the echo is copied
// back out by the caller.
type chanTransport struct {
	req, resp chan []byte
	stream    chan []byte // buffered; nil is a sync
	ack       chan uint64
	rbuf      []byte
}

func newChanTransport(maxMsg int) *chanTransport {
	t := &chanTransport{
		req: make(chan []byte), resp: make(chan []byte),
		stream: make(chan []byte, 1024), ack: make(chan uint64),
		rbuf: make([]byte, maxMsg),
	}
	go func() { // echo
		buf := make([]byte, maxMsg)
		for m := range t.req {
			t.resp <- buf[:copy(buf, m)]
		}
		close(t.resp)
	}()
	go func() { // one way
		buf := make([]byte, maxMsg)
		var count uint64
		for m := range t.stream {
			if m == nil {
				t.ack <- count
				count = 0
				continue
			}
			copy(buf, m)
			count++
		}
		close(t.ack)
	}()
	return t
}

func (t *chanTransport) roundTrip(msg []byte) error {
	t.req <- msg
	copy(t.rbuf, <-t.resp)
	return nil
}

func (t *chanTransport) send(msg []byte) error {
	t.stream <- msg
	return nil
}

func (t *chanTransport) sync() (uint64, error) {
	t.stream <- nil
	return <-t.ack, nil
}

func (t *chanTransport) close() error {
	close(t.req)
	close(t.stream)
	<-t.resp
	<-t.ack
	return nil
}
