package proto_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/shmpool/shmpool/internal/proto"
)

// TestKindValues pins the kind bytes and codes, which are wire format:
// changing one requires bumping proto.ProtocolVersion.
func TestKindValues(t *testing.T) {
	assert.Equal(t, uint32(1), proto.ProtocolVersion)
	pinned := []struct {
		kind    proto.Kind
		value   uint8
		name    string
		toWorkr bool
	}{
		{proto.KindTask, 1, "task", true},
		{proto.KindResult, 2, "result", false},
		{proto.KindError, 3, "error", false},
		{proto.KindTooLarge, 4, "too-large", false},
		{proto.KindSetFunc, 5, "set-func", true},
		{proto.KindSetFuncOK, 6, "set-func-ok", false},
		{proto.KindSetFuncError, 7, "set-func-error", false},
		{proto.KindHello, 8, "hello", false},
		{proto.KindStop, 9, "stop", true},
	}
	for _, p := range pinned {
		assert.Equal(t, p.value, uint8(p.kind), p.name)
		assert.Equal(t, p.name, p.kind.String())
		assert.True(t, p.kind.Valid(), p.name)
		assert.Equal(t, p.toWorkr, p.kind.ToWorker(), p.name)
	}
	assert.Equal(t, uint8(0), uint8(proto.CodeFunc))
	assert.Equal(t, uint8(1), uint8(proto.CodeUnknownFunc))
}

func TestKindInvalid(t *testing.T) {
	for _, k := range []proto.Kind{0, 10, 200, 255} {
		assert.False(t, k.Valid(), "kind %d", uint8(k))
		assert.False(t, k.ToWorker(), "kind %d", uint8(k))
	}
	assert.Equal(t, "kind(0)", proto.Kind(0).String())
	assert.Equal(t, "kind(255)", proto.Kind(255).String())
}
