package harness

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// explainLimit adds to an error that a resource limit caused the setting
// to raise, so that a row says what to do rather than only an errno from
// deep inside a syscall. Many -pairs are what usually runs into these:
// every pair holds descriptors in both processes, a TCP pair two ports,
// a msgqueue pair two queues (the msgqueue package names kernel.msgmni
// itself). Any other error is returned as it is.
func explainLimit(err error) error {
	var hint string
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.EMFILE):
		var rl unix.Rlimit
		unix.Getrlimit(unix.RLIMIT_NOFILE, &rl)
		hint = fmt.Sprintf("the limit on open files, ulimit -n, is %d: raise it or use fewer -pairs", rl.Cur)
	case errors.Is(err, syscall.ENFILE):
		hint = "the system's limit on open files (fs.file-max) is reached"
	case errors.Is(err, syscall.EADDRINUSE), errors.Is(err, syscall.EADDRNOTAVAIL):
		hint = "no free ephemeral port"
		if b, rerr := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); rerr == nil {
			var lo, hi int
			if _, serr := fmt.Sscan(string(b), &lo, &hi); serr == nil {
				hint += fmt.Sprintf(": net.ipv4.ip_local_port_range is %d-%d, %d ports, and a closed connection keeps its port a while (TIME_WAIT)", lo, hi, hi-lo+1)
			}
		}
	case errors.Is(err, syscall.EAGAIN) && strings.Contains(err.Error(), "fork/exec"):
		hint = "cannot start another process: a limit on processes is reached (ulimit -u, kernel.pid_max, kernel.threads-max or the cgroup's pids.max)"
	default:
		return err
	}
	return fmt.Errorf("%w (%s)", err, hint)
}
