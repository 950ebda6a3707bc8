package status

import (
	"encoding/binary"
	"unicode"
	"unicode/utf8"
)

// The function name is FuncNameMax bytes in funcWords words, NUL-padded.
// Bytes are packed little-endian into each word, so on amd64 and arm64 the
// block holds the name's bytes in order. The words are written and read with
// atomics (plain byte copies would be a data race) under the funcSeq
// seqlock: the Writer makes funcSeq odd, stores the words, makes it even
// again; a Reader accepts the words only if it saw the same even funcSeq
// before and after loading them, so it never returns a torn name.

// nameWords is a function name as stored in the block.
type nameWords [funcWords]uint64

// encodeName truncates name to FuncNameMax bytes at a rune boundary and packs
// it into words.
func encodeName(name string) nameWords {
	if len(name) > FuncNameMax {
		n := FuncNameMax
		for n > 0 && !utf8.RuneStart(name[n]) {
			n--
		}
		name = name[:n]
	}
	var buf [FuncNameMax]byte
	copy(buf[:], name)
	var nw nameWords
	for i := range nw {
		nw[i] = binary.LittleEndian.Uint64(buf[i*wordSize:])
	}
	return nw
}

// decodeName unpacks words into a name: it stops at the first NUL and
// replaces every byte that is not valid UTF-8, and every rune that is not
// printable (tabs, newlines, terminal escapes: a hostile worker must not be
// able to garble a table or a terminal), with '?'. The result is valid,
// printable UTF-8 of at most FuncNameMax bytes.
func decodeName(nw nameWords) string {
	var buf [FuncNameMax]byte
	for i, w := range nw {
		binary.LittleEndian.PutUint64(buf[i*wordSize:], w)
	}
	raw := buf[:]
	for i, c := range raw {
		if c == 0 {
			raw = raw[:i]
			break
		}
	}
	return sanitize(raw)
}

// sanitize returns b as printable UTF-8, each invalid byte or non-printable
// rune replaced by '?'. The result is never longer than b.
func sanitize(b []byte) string {
	clean := true
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if (r == utf8.RuneError && n <= 1) || !unicode.IsPrint(r) {
			clean = false
			break
		}
		i += n
	}
	if clean {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			out = append(out, '?')
			n = 1
		case !unicode.IsPrint(r):
			out = append(out, '?')
		default:
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return string(out)
}
