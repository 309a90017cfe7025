package ingest

import (
	"fmt"

	"github.com/relais-ai/relais"
)

// FileError is a problem with one input file, or one line of it. It unwraps
// to relais.ErrInvalid or relais.ErrTooLarge (or an I/O error) so callers can
// map it to a status; its message names the file and, where it applies, the
// line, so a knowledge manager can find and fix it.
type FileError struct {
	File string // the file's name as given
	Line int    // 1-based; 0 when the problem is the whole file
	Err  error
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// invalidf builds a FileError that unwraps to relais.ErrInvalid.
func invalidf(file string, line int, format string, args ...any) *FileError {
	return &FileError{File: file, Line: line, Err: fmt.Errorf(format+": %w", append(args, relais.ErrInvalid)...)}
}
