package ipc

import _ "unsafe" // for go:linkname

// nanotime reads CLOCK_MONOTONIC through the vDSO, as the harness's Now does
// (it is the same runtime function): connect timing uses it.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64
