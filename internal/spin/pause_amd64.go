package spin

// Pause executes the x86 PAUSE instruction: it tells the core that this is a
// spin-wait loop, which saves power, gives a sibling hyperthread the core,
// and avoids the memory-order pipeline flush when the awaited store arrives.
//
//go:noescape
func Pause()
