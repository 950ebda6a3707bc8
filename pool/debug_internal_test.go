package pool

import "fmt"

func (p *Pool) DebugMsgs() string {
	var msgs, items uint64
	for _, s := range p.slots {
		s.mu.Lock()
		if g := s.cur; g != nil {
			msgs += g.framedMsgs.Load()
			items += g.framedItems.Load()
		}
		s.mu.Unlock()
	}
	return fmt.Sprintf("framed msgs=%d items=%d avg=%.1f ewmaItem=%dns ewmaMsg=%dns", msgs, items, float64(items)/float64(max(msgs, 1)), p.ewmaItem.Load(), p.ewmaMsg.Load())
}

var debugLog = func(string, ...any) {}
