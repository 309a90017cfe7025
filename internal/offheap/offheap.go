// Package offheap allocates large, long-lived arrays without pointers
// outside the Go heap: the in-memory copy of the knowledge base (the
// quantised vectors, the texts) that each serve process searches.
//
// In the heap, such arrays count towards the collector's goal, which lets
// the heap grow to twice what it holds before collecting: at 100k chunks
// the embedded store's serve process peaked at 284 MB with its 100 MB of
// quantised vectors in the heap, 187 MB with them outside (BenchmarkScale).
// Growing arrays are worse: append leaves each old array to the collector,
// so building the text index of those chunks in the heap (32 MB of text,
// 20 MB of postings) made the process peak 86 MB higher than building it
// in an Array.
//
// Memory from Alloc is freed by Free only: its owner frees it once it is
// unreachable (runtime.AddCleanup), and every method of the owner that
// reads the memory keeps the owner alive until it has done so
// (runtime.KeepAlive), since a slice or a string of such memory keeps
// nothing alive. Nothing that points into it may leave its owner.
package offheap

// Alloc returns n zeroed bytes outside the Go heap, and true; or, where
// the system has no anonymous mappings or refuses one, n bytes of the heap
// and false, which Free must not be given.
func Alloc(n int) ([]byte, bool) {
	if n > 0 {
		if b := mapAnon(n); b != nil {
			return b, true
		}
	}
	return make([]byte, n), false
}

// Free returns the memory of an Alloc that reported true to the system.
func Free(b []byte) { unmap(b) }
