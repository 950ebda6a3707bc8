//go:build !race

package wake

// raceEnabled reports a -race build; see storeLoadFence.
const raceEnabled = false
