package sftp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	pkgsftp "github.com/pkg/sftp"

	"github.com/xvault/xvault/agentd/internal/connector"
)

// pullOptions is what pull needs from the connector's configuration.
type pullOptions struct {
	paths        []string
	exclude      []string
	inFlight     int
	smallFileMax int64
	budget       int64
}

// item is one step of the archive, in walk order: an entry to emit, or only a
// warning (entry.Type == 0). Small files are read by a worker; done is closed
// when buf, warn and err are final.
type item struct {
	entry  connector.Entry
	remote string
	warn   error // reported with Sink.Warn; without an entry the path is skipped
	done   chan struct{}
	small  bool   // a regular file read whole by a worker
	buf    []byte // small files: the content read
	cost   int64  // bytes of budget held by buf
	err    error  // fatal for the whole pull
}

// ready is closed: items that need no worker are ready at once.
var ready = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// puller runs one pull: a producer goroutine (the walker, or an
// incremental plan) lists the items in order, workers read small files
// concurrently into pooled buffers, and the calling goroutine emits
// everything to the sink strictly in that order, streaming large files
// itself.
type puller struct {
	c      *pkgsftp.Client
	sink   connector.Sink
	o      pullOptions
	budget *budget
	bufs   *bufPool
	// onVanished, when set, learns of a regular file that could not be
	// opened or read (and so was not archived).
	onVanished func(remote string)
	// onChanged, when set, learns of a regular file archived with content
	// that differs from its listing (grew or shrank while read).
	onChanged func(remote string, e connector.Entry)
}

// producer hands the items of a pull to send, in archive order.
type producer func(ctx context.Context, send func(context.Context, *item) error) error

func newPuller(c *pkgsftp.Client, sink connector.Sink, o pullOptions) *puller {
	return &puller{c: c, sink: sink, o: o, budget: newBudget(o.budget), bufs: &bufPool{}}
}

// pull walks o.paths over an established SFTP client into sink. It returns
// once every goroutine it started has ended.
func pull(ctx context.Context, c *pkgsftp.Client, sink connector.Sink, o pullOptions) error {
	p := newPuller(c, sink, o)
	return p.run(ctx, func(ctx context.Context, send func(context.Context, *item) error) error {
		w := &walker{c: c, exclude: o.exclude, parents: map[string]bool{}, send: send}
		return w.run(ctx, o.paths)
	})
}

// run emits what produce lists, reading small files on o.inFlight workers.
func (p *puller) run(ctx context.Context, produce producer) error {
	o := p.o
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	order := make(chan *item, 4*o.inFlight)
	work := make(chan *item, o.inFlight)
	var wg sync.WaitGroup
	for range o.inFlight {
		wg.Go(func() {
			for it := range work {
				p.fetch(ctx, it)
			}
		})
	}
	wg.Go(func() {
		defer close(work)
		defer close(order)
		send := func(ctx context.Context, it *item) error { return p.dispatch(ctx, it, order, work) }
		if err := produce(ctx, send); err != nil {
			cancel(err)
		}
	})
	if err := p.emitAll(ctx, order); err != nil {
		cancel(err)
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// dispatch queues it in walk order and, for a small file, hands it to a
// worker once its buffer fits in the budget.
func (p *puller) dispatch(ctx context.Context, it *item, order, work chan<- *item) error {
	small := it.entry.Type == connector.TypeFile && it.entry.Size > 0 && it.entry.Size <= p.o.smallFileMax
	it.done = ready
	if small {
		n := int(it.entry.Size) + 1 // one more byte tells a file that grew
		it.cost = int64(classSize(n))
		if err := p.budget.acquire(ctx, it.cost); err != nil {
			return err
		}
		it.buf = p.bufs.get(n)
		it.small = true
		it.done = make(chan struct{})
	}
	select {
	case order <- it:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	if !small {
		return nil
	}
	select {
	case work <- it:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// fetch reads a small file whole. The entry's Size becomes the bytes read
// (cut at the listed size), so the header written later tells the truth.
func (p *puller) fetch(ctx context.Context, it *item) {
	defer close(it.done)
	if err := ctx.Err(); err != nil {
		it.err = err
		return
	}
	f, err := p.c.Open(it.remote)
	if skippable(err) {
		it.entry, it.warn = connector.Entry{}, fmt.Errorf("open: %w", err)
		return
	}
	if err != nil {
		it.err = fmt.Errorf("open %s: %w", it.remote, err)
		return
	}
	n, err := f.ReadAt(it.buf, 0)
	_ = f.Close() // read-only handle: nothing to lose
	if err != nil && !errors.Is(err, io.EOF) {
		if skippable(err) {
			it.entry, it.warn = connector.Entry{}, fmt.Errorf("read: %w", err)
			return
		}
		it.err = fmt.Errorf("read %s: %w", it.remote, err)
		return
	}
	size := it.entry.Size
	switch {
	case int64(n) > size:
		n = int(size)
		it.warn = fmt.Errorf("file grew while read: archived its first %d bytes", size)
	case int64(n) < size:
		it.warn = fmt.Errorf("file shrank while read: archived %d of %d listed bytes", n, size)
		it.entry.Size = int64(n)
	}
	it.buf = it.buf[:n]
}

// emitAll hands the items to the sink in order until order is closed.
func (p *puller) emitAll(ctx context.Context, order <-chan *item) error {
	for it := range order {
		select {
		case <-it.done:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		err := p.emit(ctx, it)
		if it.buf != nil {
			p.bufs.put(it.buf)
			p.budget.release(it.cost)
			it.buf = nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (p *puller) emit(ctx context.Context, it *item) error {
	if it.err != nil {
		return it.err
	}
	e := it.entry
	switch {
	case e.Type == 0:
		if it.small && p.onVanished != nil {
			p.onVanished(it.remote)
		}
		p.sink.Warn(it.remote, it.warn)
		return nil
	case it.small:
		p.sink.Progress(it.remote)
		if err := p.sink.Put(e, bytes.NewReader(it.buf)); err != nil {
			return fmt.Errorf("archive %s: %w", it.remote, err)
		}
	case e.Type == connector.TypeFile && e.Size > 0:
		p.sink.Progress(it.remote)
		return p.stream(ctx, it)
	default:
		if err := p.sink.Put(e, emptyBody{}); err != nil {
			return fmt.Errorf("archive %s: %w", it.remote, err)
		}
	}
	if it.warn != nil {
		if it.small && p.onChanged != nil {
			p.onChanged(it.remote, e)
		}
		p.sink.Warn(it.remote, it.warn)
	}
	return nil
}

// emptyBody is the body of directories, symlinks and empty files.
type emptyBody struct{}

func (emptyBody) Read([]byte) (int, error) { return 0, io.EOF }
