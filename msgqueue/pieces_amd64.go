package msgqueue

import "unsafe"

// sendPieces and recvPieces are sendLoop and recvLoop in assembly
// (pieces_amd64.s), for raw calls: the harness's ipc.Unmanaged window.
//
// A 64 KiB message is eight 8 KiB pieces, and with both sides on one CPU
// the scheduler decides by what the sender does between two msgsnd calls
// whether the receiver preempts it after every piece (two switches a
// piece) or only once the queue is full. The C baseline with a busy loop
// after each msgsnd measured it (Intel model 167): ~15 ns more a piece
// cost 2-5% of the stream, ~50 ns cost 22%. A Go loop spills and reloads
// everything live across each call and passes two more frames; here the
// arguments stay in the registers the kernel keeps, as in C's loop.

//go:noescape
func sendPieces(id uintptr, msg unsafe.Pointer, size, piece int, typ int64) (calls int, errno uintptr)

//go:noescape
func recvPieces(id uintptr, msg unsafe.Pointer, size, piece int, from int64, want uint64) (calls, n, got int, typ uint64, errno uintptr)
