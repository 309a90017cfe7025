package offheap

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"
)

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

func TestArrayGrowsKeepingWhatItHolds(t *testing.T) {
	a := new(Array[int32])
	const n = 100_000 // several doublings past the first mapping
	for i := range n {
		a.Append(int32(i))
	}
	if a.Len() != n {
		t.Fatalf("Len = %d, want %d", a.Len(), n)
	}
	for i, v := range a.Slice() {
		if v != int32(i) {
			t.Fatalf("element %d is %d after growing", i, v)
		}
	}
	a.Resize(10)
	a.Resize(20)
	for i, v := range a.Slice() {
		want := int32(i)
		if i >= 10 {
			want = 0 // dropped by Resize(10), zero again
		}
		if v != want {
			t.Fatalf("after Resize(10), Resize(20): element %d is %d, want %d", i, v, want)
		}
	}
	a.Free()
	if a.Len() != 0 {
		t.Fatalf("Len = %d after Free", a.Len())
	}
	a.Append(7) // usable again
	if got := a.Slice(); len(got) != 1 || got[0] != 7 {
		t.Fatalf("after Free and Append(7): %v", got)
	}
	a.Free()
}

func TestAppendString(t *testing.T) {
	var a Array[byte]
	var want []byte
	for i := range 5000 {
		s := strings.Repeat(string(rune('a'+i%26)), i%40)
		AppendString(&a, s)
		want = append(want, s...)
	}
	if !bytes.Equal(a.Slice(), want) {
		t.Fatalf("the bytes appended differ from the strings (%d bytes, want %d)", a.Len(), len(want))
	}
	a.Free()
}

func TestArrayFreedOnceUnreachable(t *testing.T) {
	if b, mapped := Alloc(1); !mapped {
		t.Skip("this system gives no anonymous mappings: Arrays live in the heap")
	} else {
		Free(b)
	}
	before := unreachableFreed.Load()
	func() {
		a := new(Array[uint64])
		a.Resize(1 << 16)
		a.Slice()[1<<16-1] = 1
		runtime.KeepAlive(a)
	}()
	for range 50 {
		runtime.GC()
		if unreachableFreed.Load() > before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("an unreachable Array kept its mapping")
}
