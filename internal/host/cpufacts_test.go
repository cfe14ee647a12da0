package host

import (
	"slices"
	"testing"
)

const intelCPUInfo = `processor	: 0
vendor_id	: GenuineIntel
cpu family	: 6
model		: 207
model name	: Intel(R) Xeon(R) Processor
stepping	: 2
microcode	: 0x1
flags		: fpu vme rep_good nopl hypervisor avx2 erms invpcid avx512f fsrm serialize

processor	: 1
vendor_id	: GenuineIntel
cpu family	: 6
model		: 207
flags		: fpu other
`

const amdCPUInfo = `processor	: 0
vendor_id	: AuthenticAMD
cpu family	: 25
model		: 1
model name	: AMD EPYC 7B13
stepping	: 0
microcode	: 0xa001173
flags		: fpu rep_good avx2 erms fsrm hypervisor
`

const armCPUInfo = `processor	: 0
BogoMIPS	: 243.75
Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x3
CPU part	: 0xd0c
CPU revision	: 1
`

func TestParseCPUInfo(t *testing.T) {
	for _, c := range []struct {
		name, text          string
		vendor              string
		family, model, step int
		micro               string
		copyFlags           []string
		nflags              int
	}{
		{"intel", intelCPUInfo, "GenuineIntel", 6, 207, 2, "0x1", []string{"erms", "fsrm", "rep_good", "avx2", "avx512f"}, 11},
		{"amd", amdCPUInfo, "AuthenticAMD", 25, 1, 0, "0xa001173", []string{"erms", "fsrm", "rep_good", "avx2"}, 6},
		{"arm64", armCPUInfo, "ARM", 0, 0xd0c, 3, "", []string{}, 9},
	} {
		got := parseCPUInfo(c.text)
		if got == nil {
			t.Errorf("%s: nothing parsed", c.name)
			continue
		}
		if got.Vendor != c.vendor || got.Family != c.family || got.Model != c.model || got.Stepping != c.step || got.Microcode != c.micro {
			t.Errorf("%s: got %+v", c.name, *got)
		}
		if !slices.Equal(got.CopyFlags, c.copyFlags) {
			t.Errorf("%s: copy flags %q, want %q", c.name, got.CopyFlags, c.copyFlags)
		}
		if len(got.Flags) != c.nflags {
			t.Errorf("%s: %d flags (%q), want %d: the first processor's only", c.name, len(got.Flags), got.Flags, c.nflags)
		}
	}
	if parseCPUInfo("nothing useful here\n") != nil {
		t.Error("a cpuinfo without vendor or flags should give nothing")
	}
}

func TestNameHypervisor(t *testing.T) {
	for _, c := range []struct {
		sig        string
		flag       bool
		sysType    string
		dmi        string
		flagsKnown bool
		want       string
	}{
		{"KVMKVMKVM\x00\x00\x00", true, "", "", true, "KVM"},
		{"KVMKVMKVM\x00\x00\x00", true, "", "Amazon EC2 m6i.large", true, "KVM (Amazon EC2 m6i.large)"},
		{"Microsoft Hv", true, "", "", true, "Hyper-V"},
		{"NewVisor\x00\x00\x00\x00", true, "", "", true, "NewVisor"},
		{"", true, "", "", true, "unknown"},
		{"", false, "xen", "", false, "xen"},
		{"", false, "", "Dell Inc. PowerEdge R650", true, map[bool]string{true: "none", false: ""}[hypervisorSignatureKnown]},
		{"", false, "", "", false, ""},
	} {
		if got := nameHypervisor(c.sig, c.flag, c.sysType, c.dmi, c.flagsKnown); got != c.want {
			t.Errorf("nameHypervisor(%q, %v, %q, %q, %v) = %q, want %q", c.sig, c.flag, c.sysType, c.dmi, c.flagsKnown, got, c.want)
		}
	}
}

func TestBracketed(t *testing.T) {
	for in, want := range map[string]string{
		"always [madvise] never": "madvise",
		"[always] madvise never": "always",
		"haltpoll":               "haltpoll",
		"":                       "",
	} {
		if got := bracketed(in); got != want {
			t.Errorf("bracketed(%q) = %q, want %q", in, got, want)
		}
	}
}
