//go:build amd64 || arm64

package wake

// pause is the spin-wait hint: PAUSE on amd64, YIELD on arm64. It saves
// power, yields to a sibling hyper-thread, and (amd64) avoids the
// memory-order mis-speculation penalty when the awaited store arrives.
//
//go:noescape
func pause()

// fence is a full memory barrier: MFENCE on amd64, DMB ISH on arm64. Being
// assembly, it is invisible to the race detector, so it adds ordering without
// adding happens-before edges that could hide a race.
//
//go:noescape
func fence()
