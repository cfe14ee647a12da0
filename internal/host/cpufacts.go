package host

import (
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/ipcbench/ipcbench/results"
)

// The facts below shape copies and wake-ups, so results carry them: a reader
// of results.json must be able to tell an Intel run from a Zen 3 run, a VM
// from bare metal, a polling idle driver from a deep-sleeping one. Each is
// read from a file the kernel provides; what cannot be read is left out,
// never guessed.

// CPUFacts reads the processor's identity and flags from /proc/cpuinfo.
func CPUFacts() *results.CPU {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return nil
	}
	return parseCPUInfo(string(b))
}

// armImplementers names the arm64 "CPU implementer" codes of common server
// and laptop CPUs.
var armImplementers = map[string]string{
	"0x41": "ARM", "0x42": "Broadcom", "0x46": "Fujitsu", "0x48": "HiSilicon",
	"0x4e": "NVIDIA", "0x51": "Qualcomm", "0x61": "Apple", "0xc0": "Ampere",
}

// parseCPUInfo reads the first processor's block of /proc/cpuinfo (x86's
// vendor_id, cpu family, model, stepping, microcode and flags; arm64's CPU
// implementer, part, variant and Features).
func parseCPUInfo(text string) *results.CPU {
	c := &results.CPU{}
	seen := false
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			if strings.TrimSpace(line) == "" && seen && c.Flags != nil {
				break // the end of the first processor's block
			}
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		seen = true
		num := func() int {
			n, err := strconv.ParseInt(v, 0, 64)
			if err != nil {
				return 0
			}
			return int(n)
		}
		switch k {
		case "vendor_id":
			c.Vendor = v
		case "CPU implementer":
			if c.Vendor = armImplementers[strings.ToLower(v)]; c.Vendor == "" {
				c.Vendor = "implementer " + v
			}
		case "cpu family":
			c.Family = num()
		case "model", "CPU part":
			c.Model = num()
		case "stepping", "CPU variant":
			c.Stepping = num()
		case "microcode":
			c.Microcode = v
		case "flags", "Features":
			if c.Flags == nil {
				c.Flags = strings.Fields(v)
			}
		}
	}
	if c.Vendor == "" && c.Flags == nil {
		return nil
	}
	c.CopyFlags = []string{}
	for _, f := range results.CopyFlags {
		if slices.Contains(c.Flags, f) {
			c.CopyFlags = append(c.CopyFlags, f)
		}
	}
	return c
}

// hypervisorNames are the CPUID signatures of hypervisors that have one.
var hypervisorNames = map[string]string{
	"KVMKVMKVM\x00\x00\x00": "KVM",
	"Linux KVM Hv":          "KVM (Hyper-V enlightenments)",
	"Microsoft Hv":          "Hyper-V",
	"VMwareVMware":          "VMware",
	"XenVMMXenVMM":          "Xen",
	"TCGTCGTCGTCG":          "QEMU TCG (emulated)",
	"ACRNACRNACRN":          "ACRN",
	"bhyve bhyve ":          "bhyve",
	" lrpepyh  vr":          "Parallels",
	"VBoxVBoxVBox":          "VirtualBox",
	"QNXQVMBSQG\x00\x00":    "QNX",
}

// Hypervisor names the hypervisor this runs under, "none" when the CPU and
// the firmware say there is none, or "" when it cannot be told.
func Hypervisor(cpu *results.CPU) string {
	sig := hypervisorSignature()
	dmi := strings.TrimSpace(readLine("/sys/class/dmi/id/sys_vendor") + " " + readLine("/sys/class/dmi/id/product_name"))
	return nameHypervisor(sig, cpu != nil && slices.Contains(cpu.Flags, "hypervisor"),
		readLine("/sys/hypervisor/type"), dmi, cpu != nil && cpu.Flags != nil)
}

// nameHypervisor decides from the CPUID signature, the cpuinfo flag, Xen's
// /sys/hypervisor/type and the firmware's vendor and product (which say
// "Amazon EC2 m6i.large" where the CPUID says "KVM"); flagsKnown says
// whether cpuinfo listed flags at all (arm64 has no hypervisor flag).
func nameHypervisor(sig string, flag bool, sysType, dmi string, flagsKnown bool) string {
	name := hypervisorNames[sig]
	if name == "" && strings.Trim(sig, "\x00 ") != "" {
		name = strings.Trim(sig, "\x00 ")
	}
	if name == "" && sysType != "" {
		name = sysType
	}
	if name == "" && flag {
		name = "unknown"
	}
	if name == "" {
		if flagsKnown && sig == "" && hypervisorSignatureKnown {
			return "none"
		}
		return ""
	}
	if dmi != "" {
		name += " (" + dmi + ")"
	}
	return name
}

// CPUIdle reads how idle CPUs wait: the cpuidle driver and governor, and
// CPU 0's frequency governor.
func CPUIdle() *results.CPUIdle {
	const dir = "/sys/devices/system/cpu/"
	c := &results.CPUIdle{
		Driver:       readLine(dir + "cpuidle/current_driver"),
		Governor:     readLine(dir + "cpuidle/current_governor"),
		FreqGovernor: readLine(dir + "cpu0/cpufreq/scaling_governor"),
	}
	if c.Governor == "" {
		c.Governor = readLine(dir + "cpuidle/current_governor_ro")
	}
	if *c == (results.CPUIdle{}) {
		return nil
	}
	return c
}

// THP is the transparent huge page setting: the bracketed word of
// "always [madvise] never".
func THP() string {
	return bracketed(readLine("/sys/kernel/mm/transparent_hugepage/enabled"))
}

// bracketed returns the word in brackets in a sysfs choice list, or the
// whole line if none is.
func bracketed(s string) string {
	if _, after, ok := strings.Cut(s, "["); ok {
		if word, _, ok := strings.Cut(after, "]"); ok {
			return word
		}
	}
	return s
}

// readLine reads a one-line file, trimmed; "" when it cannot be read.
func readLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
