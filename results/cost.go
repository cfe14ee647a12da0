package results

// Cost is what one message cost each side over exactly the measured window
// (not the warm-up, not the set-up): the side's resources used in the
// window divided by the messages of the window. For pingpong a message is
// a round trip (one send and one receive on each side).
type Cost struct {
	Driver *SideCost `json:"driver,omitempty"`
	Peer   *SideCost `json:"peer,omitempty"`
}

// SideCost is one side's cost per message.
type SideCost struct {
	// Scope says whose resources were counted: "thread" (the measuring
	// thread alone, getrusage RUSAGE_THREAD: -io raw, where the measuring
	// goroutine is locked to it) or "process" (the whole process,
	// RUSAGE_SELF: -io go, where the runtime moves the work between its
	// threads, and its own threads' work counts too).
	Scope string `json:"scope"`
	// UserNS and SysNS are CPU time in user space and in the kernel.
	UserNS float64 `json:"user_ns"`
	SysNS  float64 `json:"sys_ns"`
	// VoluntarySwitches are context switches the side asked for by
	// blocking (a read that waits); InvoluntarySwitches those the scheduler
	// forced (preemption).
	VoluntarySwitches   float64 `json:"voluntary_switches"`
	InvoluntarySwitches float64 `json:"involuntary_switches"`
	// Syscalls are the system calls the mechanism's Conn made, counted by
	// the Conn; nil when it does not count them (through the runtime
	// poller, whose own calls no Conn sees).
	Syscalls *float64 `json:"syscalls,omitempty"`
	// RunDelayNS is time spent runnable but waiting for a CPU
	// (/proc/.../schedstat): scheduler and VM interference, directly.
	RunDelayNS float64 `json:"run_delay_ns"`
	// CPUPerWall is CPU time (user+sys) over wall time in the window: near
	// 1 for a side that never sleeps (a spinning wait), small for one that
	// blocks. Not per message.
	CPUPerWall float64 `json:"cpu_per_wall"`
}

// CPUNS is the side's CPU time (user and system) per message.
func (c *SideCost) CPUNS() float64 {
	if c == nil {
		return 0
	}
	return c.UserNS + c.SysNS
}
