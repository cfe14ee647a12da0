//go:build !amd64

package host

// hypervisorSignature needs CPUID, which only amd64 has; elsewhere the
// Hypervisor is told by the firmware's tables (see Hypervisor).
func hypervisorSignature() string { return "" }

// hypervisorSignatureKnown: without CPUID an empty signature says nothing.
const hypervisorSignatureKnown = false
