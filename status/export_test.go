package status

// Word is one word (or the name field) of the block, for layout_test.go.
type Word struct {
	Name   string
	Offset int
	Size   int
}

// Layout lists the block's fields in order, with the offsets layout.go
// derives from the block struct.
var Layout = []Word{
	{"state", offState, wordSize},
	{"pid", offPID, wordSize},
	{"started", offStarted, wordSize},
	{"stopped", offStopped, wordSize},
	{"taskStart", offTaskStart, wordSize},
	{"waitStart", offWaitStart, wordSize},
	{"busy", offBusy, wordSize},
	{"waiting", offWaiting, wordSize},
	{"tasks", offTasks, wordSize},
	{"errors", offErrors, wordSize},
	{"panics", offPanics, wordSize},
	{"bytesIn", offBytesIn, wordSize},
	{"bytesOut", offBytesOut, wordSize},
	{"funcSeq", offFuncSeq, wordSize},
	{"funcName", offFuncName, funcWords * wordSize},
}

// UsedSize is the size of the block struct, before rounding up to Size.
const UsedSize = usedSize
