package ring

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestLayout pins the ring header. Changing a value here changes the
// shared-memory layout: bump proto.LayoutVersion with it.
func TestLayout(t *testing.T) {
	assert.Equal(t, 0, offMagic)
	assert.Equal(t, 8, offCapacity)
	assert.Equal(t, 128, offTail)
	assert.Equal(t, 256, offHead)
	assert.Equal(t, 384, offConsumerWaiting)
	assert.Equal(t, 512, offProducerWaiting)
	assert.Equal(t, 4096, HeaderSize)
	assert.Equal(t, 16, recordHeaderSize)

	for _, off := range []int{offMagic, offCapacity, offTail, offHead, offConsumerWaiting, offProducerWaiting} {
		assert.Zero(t, off%8, "word at %d is 8-byte aligned", off)
	}
	assert.GreaterOrEqual(t, offHead-offTail, 128, "producer and consumer indices on different 128-byte lines")
	assert.GreaterOrEqual(t, offConsumerWaiting-offHead, 128)
	assert.GreaterOrEqual(t, offProducerWaiting-offConsumerWaiting, 128)
	assert.Zero(t, HeaderSize%4096, "data area starts on a page boundary")
}
