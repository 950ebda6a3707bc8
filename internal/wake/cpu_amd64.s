#include "textflag.h"

// func pause()
TEXT ·pause(SB), NOSPLIT|NOFRAME, $0-0
	PAUSE
	RET

// func fence()
TEXT ·fence(SB), NOSPLIT|NOFRAME, $0-0
	MFENCE
	RET
