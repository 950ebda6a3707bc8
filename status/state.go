package status

import (
	"math"
	"strconv"
)

// State is what a worker is doing, as it last published.
type State uint32

// The states a worker publishes. A worker is Starting from NewWriter until it
// first waits for or runs a task, Idle while it has no task, Busy while it
// runs one, Stopping once it has been asked to stop (it may still finish
// queued tasks), and Exited after Writer.Stopped.
const (
	Starting State = iota
	Idle
	Busy
	Stopping
	Exited

	// Unknown is what a Reader reports when the block holds a value that is
	// none of the states above: the worker is buggy or the block corrupt.
	// No Writer publishes it.
	Unknown State = math.MaxUint32
)

// numStates is the number of states a Writer may publish.
const numStates = int(Exited) + 1

var stateNames = [numStates]string{
	Starting: "starting",
	Idle:     "idle",
	Busy:     "busy",
	Stopping: "stopping",
	Exited:   "exited",
}

// String returns the state's lower-case name, "unknown" for Unknown, and
// "unknown(N)" for any other value outside the defined states.
func (s State) String() string {
	switch {
	case int64(s) < int64(numStates):
		return stateNames[s]
	case s == Unknown:
		return "unknown"
	default:
		return "unknown(" + strconv.FormatUint(uint64(s), 10) + ")"
	}
}

// valid reports whether a Writer may publish s.
func (s State) valid() bool { return int64(s) < int64(numStates) }

// stateFromWord maps a word read from a block to a State, Unknown if the word
// holds no defined state. The Writer does not store Busy for each task (two
// atomic stores saved per task): an Idle worker with a task in progress is
// Busy.
func stateFromWord(v uint64, inTask bool) State {
	switch {
	case v >= uint64(numStates):
		return Unknown
	case State(v) == Idle && inTask:
		return Busy
	}
	return State(v)
}

// rank orders states for Sum: the summary of many workers is the
// highest-ranked state among them (busy if any is busy, and so on).
func (s State) rank() int {
	switch s {
	case Busy:
		return 5
	case Idle:
		return 4
	case Starting:
		return 3
	case Stopping:
		return 2
	case Exited:
		return 1
	default:
		return 0
	}
}
