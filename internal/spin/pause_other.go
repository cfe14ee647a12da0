//go:build !amd64

package spin

// Pause is a no-op where ipcbench has no pause instruction for the CPU; the
// loop around it stays correct, only less polite to a sibling thread.
func Pause() {}
