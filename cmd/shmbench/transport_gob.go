package main

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// gobMsg is every message of the gob transport and the gob pool, both ways.
type gobMsg struct {
	Op    uint8
	ID    uint64 // a pool item's index; a sync's count in the answer
	Data  []byte
	Count uint64
}

// Ops of gobMsg.
const (
	gobEcho   uint8 = iota + 1 // answered with the same Data
	gobOneWay                  // counted
	gobSync                    // answered with the count since the last sync
	gobCRC                     // answered with the CRC-32C of Data: a pool item
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// gobTransport is encoding/gob over two pipes: the naive process pool's way.
type gobTransport struct {
	w, r *os.File
	enc  *gob.Encoder
	dec  *gob.Decoder
	peer *child
	in   gobMsg
}

func newGobTransport() (*gobTransport, error) {
	reqW, respR, peer, err := startPipeChild("gob", "")
	if err != nil {
		return nil, err
	}
	return &gobTransport{
		w: reqW, r: respR, peer: peer,
		enc: gob.NewEncoder(reqW), dec: gob.NewDecoder(bufio.NewReaderSize(respR, 64<<10)),
	}, nil
}

func (t *gobTransport) call(m gobMsg) error {
	if err := t.enc.Encode(&m); err != nil {
		return err
	}
	t.in = gobMsg{Data: t.in.Data[:0]}
	return t.dec.Decode(&t.in)
}

func (t *gobTransport) roundTrip(msg []byte) error {
	if err := t.call(gobMsg{Op: gobEcho, Data: msg}); err != nil {
		return err
	}
	if len(t.in.Data) != len(msg) {
		return fmt.Errorf("echo of %d bytes for %d", len(t.in.Data), len(msg))
	}
	return nil
}

func (t *gobTransport) send(msg []byte) error {
	return t.enc.Encode(&gobMsg{Op: gobOneWay, Data: msg})
}

func (t *gobTransport) sync() (uint64, error) {
	if err := t.call(gobMsg{Op: gobSync}); err != nil {
		return 0, err
	}
	return t.in.Count, nil
}

func (t *gobTransport) close() error {
	t.w.Close()
	t.r.Close()
	return t.peer.wait()
}

// gobChild is the peer of the gob transport and of a gob pool's worker:
// it decodes from descriptor 3 and encodes answers to descriptor 4 until EOF.
func gobChild() error {
	in, out := os.NewFile(3, "in"), os.NewFile(4, "out")
	dec := gob.NewDecoder(bufio.NewReaderSize(in, 64<<10))
	enc := gob.NewEncoder(out)
	var count uint64
	var m gobMsg
	var sum [4]byte
	for {
		m = gobMsg{Data: m.Data[:0]}
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		var err error
		switch m.Op {
		case gobEcho:
			err = enc.Encode(&m)
		case gobOneWay:
			count++
		case gobSync:
			err = enc.Encode(&gobMsg{Op: gobSync, Count: count})
			count = 0
		case gobCRC:
			c := crc32.Checksum(m.Data, castagnoli)
			sum = [4]byte{byte(c), byte(c >> 8), byte(c >> 16), byte(c >> 24)}
			err = enc.Encode(&gobMsg{Op: gobCRC, ID: m.ID, Data: sum[:]})
		default:
			err = fmt.Errorf("unknown op %d", m.Op)
		}
		if err != nil {
			return err
		}
	}
}
