//go:build unix

package offheap

import "syscall"

// mapAnon returns n zeroed bytes of anonymous memory outside the Go heap,
// or nil when the system refuses them.
func mapAnon(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	return b
}

// unmap returns a mapAnon's memory to the system.
func unmap(b []byte) { _ = syscall.Munmap(b) }
