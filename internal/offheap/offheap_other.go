//go:build !unix

package offheap

// mapAnon returns nil where anonymous mappings are not available: the
// arrays then live in the Go heap.
func mapAnon(int) []byte { return nil }

func unmap([]byte) {}
