#include "textflag.h"

// The System V message calls of linux/amd64 and the errno a signal leaves.
#define SYS_MSGSND 69
#define SYS_MSGRCV 70
#define EINTR 4

// func sendPieces(id uintptr, msg unsafe.Pointer, size, piece int, typ int64) (calls int, errno uintptr)
//
// The kernel keeps every register but AX, CX and R11 across SYSCALL, so the
// arguments stay where the call wants them: DI the queue, SI the piece's
// mtype (then its text), DX its length, R10 the flags (0).
TEXT ·sendPieces(SB), NOSPLIT, $0-56
	MOVQ	id+0(FP), DI
	MOVQ	msg+8(FP), SI
	MOVQ	size+16(FP), BX	// bytes left
	MOVQ	piece+24(FP), R9
	MOVQ	typ+32(FP), R8
	XORQ	R10, R10
	XORQ	R12, R12	// calls
snext:
	MOVQ	BX, DX
	CMPQ	DX, R9
	CMOVQGT	R9, DX	// this piece: min(left, piece)
	MOVQ	(SI), R13	// the 8 bytes its type goes over
	MOVQ	R8, (SI)
sagain:
	MOVQ	$SYS_MSGSND, AX
	SYSCALL
	CMPQ	AX, $0xfffffffffffff001
	JLS	sok
	NEGQ	AX
	CMPQ	AX, $EINTR	// never restarted: the piece again
	JEQ	sagain
	MOVQ	R13, (SI)
	INCQ	R12
	MOVQ	R12, calls+40(FP)
	MOVQ	AX, errno+48(FP)
	RET
sok:
	MOVQ	R13, (SI)
	INCQ	R12
	ADDQ	DX, SI
	SUBQ	DX, BX
	JGT	snext
	MOVQ	R12, calls+40(FP)
	MOVQ	$0, errno+48(FP)
	RET

// func recvPieces(id uintptr, msg unsafe.Pointer, size, piece int, from int64, want uint64) (calls, n, got int, typ uint64, errno uintptr)
//
// As sendPieces, with R10 the type asked for and R8 the flags (0). It stops
// at the first piece that fails or is not n bytes of type want, and returns
// that call's figures.
TEXT ·recvPieces(SB), NOSPLIT, $0-88
	MOVQ	id+0(FP), DI
	MOVQ	msg+8(FP), SI
	MOVQ	size+16(FP), BX
	MOVQ	piece+24(FP), R9
	MOVQ	from+32(FP), R10
	MOVQ	want+40(FP), R14
	XORQ	R8, R8
	XORQ	R12, R12
rnext:
	MOVQ	BX, DX
	CMPQ	DX, R9
	CMOVQGT	R9, DX
	MOVQ	(SI), R13
ragain:
	MOVQ	$SYS_MSGRCV, AX
	SYSCALL
	CMPQ	AX, $0xfffffffffffff001
	JLS	rok
	NEGQ	AX
	CMPQ	AX, $EINTR
	JEQ	ragain
	MOVQ	R13, (SI)
	INCQ	R12
	MOVQ	R12, calls+48(FP)
	MOVQ	DX, n+56(FP)
	MOVQ	$-1, got+64(FP)
	MOVQ	$0, typ+72(FP)
	MOVQ	AX, errno+80(FP)
	RET
rok:
	MOVQ	(SI), CX	// the type the kernel wrote
	MOVQ	R13, (SI)
	INCQ	R12
	CMPQ	AX, DX
	JNE	rdone
	CMPQ	CX, R14
	JNE	rdone
	ADDQ	DX, SI
	SUBQ	DX, BX
	JGT	rnext
rdone:
	MOVQ	R12, calls+48(FP)
	MOVQ	DX, n+56(FP)
	MOVQ	AX, got+64(FP)
	MOVQ	CX, typ+72(FP)
	MOVQ	$0, errno+80(FP)
	RET
