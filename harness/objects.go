package harness

import (
	"fmt"
	"os"
)

// TempDirPrefix starts the name of every directory ipcbench makes under the
// system temporary directory. The driver's process id follows it, so that
// `ipcbench clean` can tell a directory of a run that died from one in use.
const TempDirPrefix = "ipcbench-"

// TempDir makes a private (0700) directory for one cell's files, such as a
// Unix socket. The caller removes it with os.RemoveAll when the cell ends.
func TempDir() (string, error) {
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-*", TempDirPrefix, os.Getpid()))
	if err != nil {
		return "", fmt.Errorf("cannot make a private directory for the socket: %w", err)
	}
	// MkdirTemp already uses 0700; say so explicitly, whatever the umask.
	if err := os.Chmod(dir, 0o700); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}
