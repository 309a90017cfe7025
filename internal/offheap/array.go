package offheap

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// Array is a growable array of T outside the Go heap, for a T that holds
// no pointers (the collector does not look into it). It grows by doubling
// its mapping, whose pages cost memory only once written, and the old
// mapping is returned at once: growing to n elements holds at most 2n in
// memory, for an instant, where a slice in the heap holds what append left
// behind until the next collection.
//
// Its memory is returned by Free, or once the Array is unreachable; code
// that reads Slice keeps the Array alive until it is done
// (runtime.KeepAlive). An Array is used through a pointer and never
// copied: a copy would share the memory but not the Array's life. The
// zero Array is empty and ready to use.
type Array[T any] struct {
	_       noCopy
	s       []T
	mem     []byte // the mapping s lies in; nil when s is in the heap
	cleanup runtime.Cleanup
}

// minBytes is the least an Array maps, so that the first appends do not
// each map a page.
const minBytes = 64 << 10

// Len is how many elements a holds.
func (a *Array[T]) Len() int { return len(a.s) }

// Slice is a's elements, valid until a grows or is freed.
func (a *Array[T]) Slice() []T { return a.s }

// Append appends vs to a.
func (a *Array[T]) Append(vs ...T) {
	a.reserve(len(vs))
	a.s = append(a.s, vs...)
}

// AppendString appends the bytes of s to a.
func AppendString(a *Array[byte], s string) {
	a.reserve(len(s))
	a.s = append(a.s, s...)
}

// Resize makes a's length n: the elements kept keep their values, new ones
// are zero.
func (a *Array[T]) Resize(n int) {
	if n > cap(a.s) {
		a.realloc(n)
	}
	old := len(a.s)
	a.s = a.s[:n]
	if n > old {
		clear(a.s[old:])
	}
}

// Free returns a's memory and empties it.
func (a *Array[T]) Free() {
	if a.mem != nil {
		a.cleanup.Stop()
		Free(a.mem)
	}
	a.s, a.mem = nil, nil
}

// reserve makes room for n more elements, at least doubling.
func (a *Array[T]) reserve(n int) {
	if len(a.s)+n <= cap(a.s) {
		return
	}
	size := int(unsafe.Sizeof(*new(T)))
	a.realloc(max(2*cap(a.s), len(a.s)+n, minBytes/max(size, 1)))
}

// realloc moves a's elements to room for c.
func (a *Array[T]) realloc(c int) {
	var s []T
	var mem []byte
	if size := int(unsafe.Sizeof(*new(T))); size > 0 {
		if b := mapAnon(c * size); b != nil {
			mem = b
			s = unsafe.Slice((*T)(unsafe.Pointer(&b[0])), c)[:0]
		}
	}
	if mem == nil {
		s = make([]T, 0, c)
	}
	s = append(s, a.s...)
	a.Free()
	a.s, a.mem = s, mem
	if mem != nil {
		a.cleanup = runtime.AddCleanup(a, freeUnreachable, mem)
	}
}

// unreachableFreed counts the Arrays' mappings returned because their
// Array was no longer reachable, for tests.
var unreachableFreed atomic.Int64

func freeUnreachable(mem []byte) {
	Free(mem)
	unreachableFreed.Add(1)
}

// noCopy makes go vet report a copy of the struct that holds it.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
