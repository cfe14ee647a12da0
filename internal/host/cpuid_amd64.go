package host

import "encoding/binary"

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

// hypervisorSignature is the vendor signature a hypervisor puts in CPUID
// leaf 0x40000000 ("KVMKVMKVM", "Microsoft Hv"), or "" when the CPU says
// no hypervisor is present (CPUID.1:ECX bit 31).
func hypervisorSignature() string {
	if _, _, ecx, _ := cpuid(1, 0); ecx&(1<<31) == 0 {
		return ""
	}
	_, ebx, ecx, edx := cpuid(0x40000000, 0)
	var b [12]byte
	binary.LittleEndian.PutUint32(b[0:], ebx)
	binary.LittleEndian.PutUint32(b[4:], ecx)
	binary.LittleEndian.PutUint32(b[8:], edx)
	return string(b[:])
}

// hypervisorSignatureKnown: on amd64 CPUID says whether a hypervisor is
// present, so an empty signature means bare metal.
const hypervisorSignatureKnown = true
