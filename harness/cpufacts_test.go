package harness

import (
	"os"
	"runtime"
	"testing"

	"github.com/ipcbench/ipcbench/ipc"
)

// TestMetaDescribesTheCPU reads this machine's own facts: where the kernel
// provides them, meta must carry them.
func TestMetaDescribesTheCPU(t *testing.T) {
	o := Options{IO: ipc.IORaw}
	m := o.meta()
	if _, err := os.Stat("/proc/cpuinfo"); err == nil {
		if m.CPU == nil || m.CPU.Vendor == "" || len(m.CPU.Flags) == 0 || m.CPU.CopyFlags == nil {
			t.Errorf("meta.cpu = %+v: want vendor and flags from /proc/cpuinfo", m.CPU)
		}
	}
	if runtime.GOARCH == "amd64" && m.Hypervisor == "" {
		t.Error("meta.hypervisor is empty: CPUID always tells on amd64 (\"none\" on bare metal)")
	}
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled"); err == nil && m.THP == "" {
		t.Error("meta.thp is empty though the kernel has transparent huge pages")
	}
	if _, err := os.Stat("/sys/devices/system/cpu/cpuidle/current_driver"); err == nil && (m.CPUIdle == nil || m.CPUIdle.Driver == "") {
		t.Errorf("meta.cpuidle = %+v: want the driver", m.CPUIdle)
	}
	t.Logf("cpu %+v hypervisor %q cpuidle %+v thp %q", m.CPU, m.Hypervisor, m.CPUIdle, m.THP)
}
