package harness

// Check reports what Run would refuse in o before running anything: bad
// input, for a caller that checks its options up front (a usage error),
// unlike Run's other errors, which are failures of the run itself.
func (o *Options) Check() error { return o.check() }
