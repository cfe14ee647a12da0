package ipc

// Uses is what one channel of a mechanism holds while a cell runs, beyond
// the descriptors every channel needs: the harness adds them up over the
// pairs and clients of a run and refuses, before anything starts, a run the
// machine cannot hold (harness.CheckFeasible). Zero values mean nothing
// beyond the common case.
type Uses struct {
	// Descriptors is how many descriptors one channel keeps open in the
	// driver, at least (0: assume 2, two pipe ends or a socket and its
	// listener). The check adds what it knows for sure, so that it refuses
	// only what cannot work; a run that still runs out is explained then.
	Descriptors int
	// Objects is how many named kernel objects one channel creates that a
	// system-wide sysctl caps, and ObjectLimit names that sysctl
	// ("kernel.msgmni" for System V queues, "fs.mqueue.queues_max").
	Objects     int
	ObjectLimit string
	// Ports is how many loopback ports one channel takes from the ephemeral
	// range (net.ipv4.ip_local_port_range): a TCP listener and the dialling
	// end each take one.
	Ports int
}
