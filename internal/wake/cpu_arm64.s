#include "textflag.h"

// func pause()
TEXT ·pause(SB), NOSPLIT|NOFRAME, $0-0
	YIELD
	RET

// func fence()
TEXT ·fence(SB), NOSPLIT|NOFRAME, $0-0
	DMB	$0xb // ISH: full barrier, inner shareable domain
	RET
