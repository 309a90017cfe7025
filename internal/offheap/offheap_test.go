package offheap

import "testing"

func TestAllocIsZeroedWritableAndFreed(t *testing.T) {
	const n = 1 << 20
	b, mapped := Alloc(n)
	if len(b) != n {
		t.Fatalf("Alloc(%d) gave %d bytes", n, len(b))
	}
	for i, c := range b {
		if c != 0 {
			t.Fatalf("byte %d is %d, want 0", i, c)
		}
	}
	for i := range b {
		b[i] = byte(i)
	}
	if b[n-1] != byte((n-1)%256) {
		t.Fatalf("last byte did not keep what was written")
	}
	if mapped {
		Free(b)
	}
}

func TestAllocOfNothingIsNotMapped(t *testing.T) {
	b, mapped := Alloc(0)
	if len(b) != 0 || mapped {
		t.Fatalf("Alloc(0) = %d bytes, mapped %v; want none, not mapped", len(b), mapped)
	}
}
