//go:build !amd64 && !arm64

package wake

import "sync/atomic"

// pause does nothing where there is no spin-wait hint in assembly.
func pause() {}

// fenceWord is the private word fence's read-modify-write targets.
var fenceWord atomic.Uint32

// fence orders memory through an atomic read-modify-write. shmpool supports
// amd64 and arm64 only; this keeps other platforms building.
func fence() { fenceWord.Add(0) }
