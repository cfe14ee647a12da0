package msgqueue

import "unsafe"

// sendLoop sends the size bytes after the mtypeLen bytes at msg as messages
// of piece bytes (the last one shorter), one msgsnd each: piece k's type
// goes in the mtypeLen bytes in front of it, which for k > 0 are the end of
// the previous piece, saved before the call and put back after.
//
// It returns how many calls it made (a retry after EINTR, inside msgsnd, is
// the same call) and the error of the last one.
func sendLoop(id int, msg unsafe.Pointer, size, piece int, typ int64) (calls int, err error) {
	for off := 0; ; {
		n, h := min(piece, size-off), unsafe.Slice((*byte)(unsafe.Add(msg, off)), mtypeLen)
		saved := getMtype(h)
		putType(h, typ)
		err = msgsnd(id, unsafe.Pointer(&h[0]), n, 0)
		putType(h, int64(saved))
		calls++
		if off += n; err != nil || off >= size {
			return calls, err
		}
	}
}

// recvLoop receives messages of piece bytes into the size bytes after the
// mtypeLen bytes at msg, one msgrcv of type from each, as sendLoop sent
// them. It stops at the first call that fails or brings other than n bytes
// of type want, and returns the calls made and that call's n, the bytes it
// got (-1 on error), the type and the error.
func recvLoop(id int, msg unsafe.Pointer, size, piece int, from int64, want uint64) (calls, n, got int, typ uint64, err error) {
	for off := 0; ; {
		n = min(piece, size-off)
		h := unsafe.Slice((*byte)(unsafe.Add(msg, off)), mtypeLen)
		saved := getMtype(h)
		got, err = msgrcv(id, unsafe.Pointer(&h[0]), n, int(from), 0)
		typ = getMtype(h)
		putType(h, int64(saved))
		calls++
		if off += n; err != nil || got != n || typ != want || off >= size {
			return calls, n, got, typ, err
		}
	}
}
