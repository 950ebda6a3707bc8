package pool

// Debug exposes internals to the black-box tests.
func Debug(p *Pool) string { return p.DebugMsgs() }
