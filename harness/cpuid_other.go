//go:build !amd64

package harness

// hypervisorSignature needs CPUID, which only amd64 has; elsewhere the
// hypervisor is told by the firmware's tables (see hypervisor).
func hypervisorSignature() string { return "" }

// hypervisorSignatureKnown: without CPUID an empty signature says nothing.
const hypervisorSignatureKnown = false
