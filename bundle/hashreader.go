package bundle

import (
	"encoding/hex"
	"hash"
	"io"
	"sync"
)

const (
	chunkSize   = 1 << 20 // bytes read from the source at once
	chunkBuffer = 4       // chunks in flight between reader and hasher
)

// hashingReader reads src in large chunks, hands each chunk to a hash running
// on another goroutine and serves the same bytes to its consumer (gzip), so
// the archive digest costs no time on the decompression path when a second
// core is free. Memory is fixed: chunkBuffer chunks of chunkSize.
type hashingReader struct {
	src  io.Reader
	h    hash.Hash
	n    int64
	free chan []byte
	work chan []byte
	done chan struct{}
	once sync.Once
	cur  []byte
	off  int
	err  error
}

func newHashingReader(src io.Reader, h hash.Hash) *hashingReader {
	hr := &hashingReader{
		src:  src,
		h:    h,
		free: make(chan []byte, chunkBuffer),
		work: make(chan []byte, chunkBuffer),
		done: make(chan struct{}),
	}
	for range chunkBuffer {
		hr.free <- getChunk()
	}
	go func() {
		defer close(hr.done)
		for b := range hr.work {
			hr.h.Write(b)
			hr.free <- b[:cap(b)]
		}
	}()
	return hr
}

// fill makes the next chunk current; false at EOF or on a read error.
func (hr *hashingReader) fill() bool {
	for hr.off >= len(hr.cur) {
		if hr.err != nil {
			return false
		}
		buf := <-hr.free
		n, err := io.ReadFull(hr.src, buf)
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		hr.err = err
		if n > 0 {
			hr.n += int64(n)
			hr.work <- buf[:n]
			hr.cur, hr.off = buf[:n], 0
		} else {
			hr.free <- buf
		}
	}
	return true
}

func (hr *hashingReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if !hr.fill() {
		return 0, hr.err
	}
	n := copy(p, hr.cur[hr.off:])
	hr.off += n
	return n, nil
}

// ReadByte lets compress/flate read without an extra bufio copy.
func (hr *hashingReader) ReadByte() (byte, error) {
	if !hr.fill() {
		return 0, hr.err
	}
	c := hr.cur[hr.off]
	hr.off++
	return c, nil
}

// consumed returns how many bytes have been read from src so far.
func (hr *hashingReader) consumed() int64 { return hr.n }

// drain reads the rest of src (so the digest covers every byte) and returns
// how many bytes were left.
func (hr *hashingReader) drain() (int64, error) {
	var left int64
	for hr.fill() {
		left += int64(len(hr.cur) - hr.off)
		hr.off = len(hr.cur)
	}
	if hr.err == io.EOF {
		return left, nil
	}
	return left, hr.err
}

// close stops the hasher goroutine and recycles the chunks; it is safe to
// call more than once. The reader must not be used afterwards.
func (hr *hashingReader) close() {
	hr.once.Do(func() {
		close(hr.work)
		<-hr.done
		hr.cur = nil
		for range chunkBuffer {
			putChunk(<-hr.free)
		}
	})
}

// chunks recycles chunkSize buffers between archive reads.
var chunks = sync.Pool{New: func() any { return new([chunkSize]byte) }}

func getChunk() []byte  { return chunks.Get().(*[chunkSize]byte)[:] }
func putChunk(b []byte) { chunks.Put((*[chunkSize]byte)(b[:chunkSize])) }

// sum closes the reader and returns "sha256:<hex>" (or the hash's name) of
// every byte read from src, and how many there were.
func (hr *hashingReader) sum(prefix string) (string, int64) {
	hr.close()
	return prefix + hex.EncodeToString(hr.h.Sum(nil)), hr.n
}
