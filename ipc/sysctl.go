package ipc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ReadSysctl reads one integer setting, such as "kernel.msgmax", from
// /proc/sys. The error names the setting.
func ReadSysctl(name string) (int64, error) {
	path := SysctlPath(name)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("cannot read %s: %w", name, err)
	}
	s := strings.TrimSpace(string(b))
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cannot read %s: %s holds %q, not a number", name, path, s)
	}
	return v, nil
}

// SysctlPath is the file under /proc/sys that holds the setting name.
func SysctlPath(name string) string {
	return "/proc/sys/" + strings.ReplaceAll(name, ".", "/")
}

// ReadLimits reads the settings named (Caps.Sysctls) for meta.limits. A
// setting that holds one integer is recorded under its name; one that holds
// the triple min, default, max (net.ipv4.tcp_rmem) is recorded by its
// default, what a socket starts with before autotuning, as NAME.default. A
// setting that cannot be read is left out rather than guessed.
func ReadLimits(names []string) map[string]int64 {
	l := map[string]int64{}
	for _, name := range names {
		b, err := os.ReadFile(SysctlPath(name))
		if err != nil {
			continue
		}
		switch f := strings.Fields(string(b)); len(f) {
		case 1:
			if v, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				l[name] = v
			}
		case 3:
			if v, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				l[name+".default"] = v
			}
		}
	}
	return l
}
