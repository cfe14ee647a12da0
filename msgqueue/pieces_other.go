//go:build !amd64

package msgqueue

import "unsafe"

// Where there is no assembly, the raw calls are the Go loop's.

func sendPieces(id uintptr, msg unsafe.Pointer, size, piece int, typ int64) (calls int, errno uintptr) {
	return sendLoop(true, id, msg, size, piece, typ)
}

func recvPieces(id uintptr, msg unsafe.Pointer, size, piece int, from int64, want uint64) (calls, n, got int, typ uint64, errno uintptr) {
	return recvLoop(true, id, msg, size, piece, from, want)
}
