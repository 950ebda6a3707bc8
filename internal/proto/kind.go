package proto

import "strconv"

// ProtocolVersion is the version of the control messages: the kinds below
// and the payload encodings in message.go. Bump it on any change to either.
// The worker reports it in Hello.
const ProtocolVersion uint32 = 1

// Kind is the kind byte of a ring record: it says what the payload is. The
// record's 64-bit id ties a reply to its request: a task's id comes back on
// its result, error or too-large notice, a SetFunc's id on its OK or
// refusal. Kind 0 is never valid (package ring uses it for padding), so a
// zeroed record cannot pass for a message.
//
// The values are wire format, pinned in kind_test.go: changing one requires
// bumping ProtocolVersion.
type Kind uint8

// Kinds, by direction. The payload encoding follows the colon.
const (
	// KindTask (parent -> worker): the user function's input, raw bytes.
	KindTask Kind = 1
	// KindResult (worker -> parent): the user function's output, raw bytes.
	KindResult Kind = 2
	// KindError (worker -> parent): a RemoteError; the user function returned
	// an error or panicked on this task. The worker lives on.
	KindError Kind = 3
	// KindTooLarge (worker -> parent): a TooLarge; the task's result was
	// larger than the header's MaxPayload and was dropped.
	KindTooLarge Kind = 4
	// KindSetFunc (parent -> worker): a SetFunc; switch to another registered
	// function, built by its factory from the static bytes.
	KindSetFunc Kind = 5
	// KindSetFuncOK (worker -> parent): empty; the switch is done and later
	// tasks run the new function.
	KindSetFuncOK Kind = 6
	// KindSetFuncError (worker -> parent): a RemoteError; the switch was
	// refused (unknown name: CodeUnknownFunc; the factory failed or
	// panicked: CodeFunc) and the previous function stays in place.
	KindSetFuncError Kind = 7
	// KindHello (worker -> parent): a Hello; the first record the worker
	// sends, once it has attached the segment.
	KindHello Kind = 8
	// KindStop (parent -> worker): empty; finish the tasks already queued,
	// answer them, then exit 0. The parent sends nothing after it.
	KindStop Kind = 9

	maxKind = KindStop
)

var kindNames = [...]string{
	KindTask:         "task",
	KindResult:       "result",
	KindError:        "error",
	KindTooLarge:     "too-large",
	KindSetFunc:      "set-func",
	KindSetFuncOK:    "set-func-ok",
	KindSetFuncError: "set-func-error",
	KindHello:        "hello",
	KindStop:         "stop",
}

// String returns the kind's name, or "kind(N)" for an invalid kind.
func (k Kind) String() string {
	if k.Valid() {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Valid reports whether k is one of the kinds above.
func (k Kind) Valid() bool { return k >= KindTask && k <= maxKind }

// ToWorker reports whether k travels from parent to worker, in the request
// ring. A side that reads a kind meant for the other direction treats it as
// corruption, like an invalid kind.
func (k Kind) ToWorker() bool {
	return k == KindTask || k == KindSetFunc || k == KindStop
}
