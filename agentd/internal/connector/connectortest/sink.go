// Package connectortest has sinks for connector tests: Recorder keeps
// everything a connector emits in memory; Extras gives an existing test sink
// the descriptor, object and note methods.
package connectortest

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/sdk/archive"
)

// Extras records Describe, PutObject and Note. Embed it in a test sink.
type Extras struct {
	mu          sync.Mutex
	Descriptor  *archive.Descriptor
	Objects     map[string][]byte
	ObjectOrder []string
	Notes       map[string]any
	// Err records a broken contract (object body shorter or longer than its size).
	Err error
}

func (x *Extras) Describe(d archive.Descriptor) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.Descriptor != nil {
		return errors.New("descriptor set twice")
	}
	if len(x.ObjectOrder) > 0 {
		x.Err = errors.New("Describe called after PutObject")
	}
	x.Descriptor = &d
	return nil
}

func (x *Extras) PutObject(name string, size int64, _ time.Time, body io.Reader) error {
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if int64(len(b)) != size {
		x.Err = fmt.Errorf("object %s: body has %d bytes, size said %d", name, len(b), size)
	}
	if x.Objects == nil {
		x.Objects = map[string][]byte{}
	}
	if _, dup := x.Objects[name]; dup {
		x.Err = fmt.Errorf("object %s put twice", name)
	}
	x.Objects[name] = b
	x.ObjectOrder = append(x.ObjectOrder, name)
	return nil
}

func (x *Extras) Note(key string, value any) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.Notes == nil {
		x.Notes = map[string]any{}
	}
	x.Notes[key] = value
}

// Recorder is a complete sink that keeps every entry with its body.
type Recorder struct {
	Extras
	Entries  []connector.Entry
	Bodies   map[string][]byte // regular files by entry name
	Warnings []string
	Mode     string // transfer mode reported
}

var _ connector.Sink = (*Recorder)(nil)

func (r *Recorder) Put(e connector.Entry, body io.Reader) error {
	var b []byte
	if e.Type == connector.TypeFile {
		var err error
		if b, err = io.ReadAll(body); err != nil {
			return err
		}
		if int64(len(b)) != e.Size {
			r.mu.Lock()
			r.Err = fmt.Errorf("file %s: body has %d bytes, size said %d", e.Name, len(b), e.Size)
			r.mu.Unlock()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Bodies == nil {
		r.Bodies = map[string][]byte{}
	}
	r.Entries = append(r.Entries, e)
	if e.Type == connector.TypeFile {
		r.Bodies[e.Name] = b
	}
	return nil
}

func (r *Recorder) Warn(path string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Warnings = append(r.Warnings, fmt.Sprintf("%s: %v", path, err))
}

func (r *Recorder) Progress(string)          {}
func (r *Recorder) TransferMode(mode string) { r.Mode = mode }
