//go:build !unix

package vecindex

// mapSlab returns nil where anonymous mappings are not available: the
// snapshot's vectors then live in the Go heap.
func mapSlab(int) []byte { return nil }

func unmapSlab([]byte) {}
