//go:build unix

package vecindex

import "syscall"

// mapSlab returns n zeroed bytes of anonymous memory outside the Go heap,
// or nil when the system refuses them.
func mapSlab(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	return b
}

// unmapSlab returns a mapSlab's memory to the system.
func unmapSlab(b []byte) { _ = syscall.Munmap(b) }
