package pool

// Batches returns the batch messages and the items they carried, summed
// over the pool's current workers.
func Batches(p *Pool) (msgs, items uint64) {
	for _, s := range p.slots {
		s.mu.Lock()
		if g := s.cur; g != nil {
			msgs += g.framedMsgs.Load()
			items += g.framedItems.Load()
		}
		s.mu.Unlock()
	}
	return msgs, items
}

// BatchMagic returns the bytes that start a batch frame.
func BatchMagic() []byte { return append([]byte(nil), batchMagic[:]...) }

// ActiveCap returns how many workers may run tiny items at once.
func ActiveCap(p *Pool) int { return int(p.activeCap.Load()) }
