package incremental

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/xvault/xvault/sdk/archive"
)

// The plain index is
//
//	"XVIDX" 0x00 | version (byte) | uvarint n | n bytes JSON header | records… | 0x00 | uvarint count
//
// and each record is, in this order: type byte ('f', 'd', 'l'; never 0, so
// the 0x00 after the last record cannot start one), uvarint bytes shared
// with the previous path, uvarint suffix length, suffix, flags byte,
// uvarint size, varint mtime_ns, varint ctime_ns, uvarint inode, uvarint
// mode, uvarint uid, uvarint gid, uvarint nlink, uvarint target length,
// target.

// encodePlain writes the plain index to w.
func encodePlain(w *bufio.Writer, idx *Index) error {
	h := idx.Header
	h.Entries = len(idx.Records)
	if err := checkHeader(&h); err != nil {
		return err
	}
	hj, err := json.Marshal(&h)
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	w.WriteString(indexMagic)
	w.WriteByte(indexVersion)
	writeUvarint(w, uint64(len(hj)))
	w.Write(hj)
	prev := ""
	var scratch []byte
	for i := range idx.Records {
		r := &idx.Records[i]
		if err := checkRecord(prev, i, r); err != nil {
			return fmt.Errorf("record %d: %w", i+1, err)
		}
		scratch = writeRecord(w, scratch, prev, r)
		prev = r.Path
	}
	w.WriteByte(0)
	writeUvarint(w, uint64(len(idx.Records)))
	return nil
}

func writeRecord(w *bufio.Writer, scratch []byte, prev string, r *Record) []byte {
	shared := commonPrefix(prev, r.Path)
	b := append(scratch[:0], byte(r.Type))
	b = binary.AppendUvarint(b, uint64(shared))
	b = binary.AppendUvarint(b, uint64(len(r.Path)-shared))
	b = append(b, r.Path[shared:]...)
	b = append(b, r.Flags)
	b = binary.AppendUvarint(b, uint64(r.Size))
	b = binary.AppendVarint(b, r.MtimeNS)
	b = binary.AppendVarint(b, r.CtimeNS)
	b = binary.AppendUvarint(b, r.Inode)
	b = binary.AppendUvarint(b, uint64(r.Mode))
	b = binary.AppendUvarint(b, uint64(r.UID))
	b = binary.AppendUvarint(b, uint64(r.GID))
	b = binary.AppendUvarint(b, uint64(r.Nlink))
	b = binary.AppendUvarint(b, uint64(len(r.Target)))
	b = append(b, r.Target...)
	w.Write(b)
	return b
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

func writeUvarint(w *bufio.Writer, v uint64) {
	var b [binary.MaxVarintLen64]byte
	w.Write(b[:binary.PutUvarint(b[:], v)])
}

// decodePlain reads the plain index from r and checks it against want.
func decodePlain(r *bufio.Reader, want IDs) (*Index, error) {
	h, err := readHeader(r, want)
	if err != nil {
		return nil, err
	}
	idx := &Index{Header: *h, Records: make([]Record, 0, min(h.Entries, 1<<16))}
	d := recordDecoder{r: r}
	for {
		idx.Records = grow(idx.Records, h.Entries)
		typ, err := r.ReadByte()
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", len(idx.Records)+1, readErr(err))
		}
		if typ == 0 {
			break
		}
		rec, err := d.read(Type(typ), len(idx.Records))
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", len(idx.Records)+1, err)
		}
		idx.Records = append(idx.Records, rec)
	}
	return idx, readTrailer(r, idx)
}

func readHeader(r *bufio.Reader, want IDs) (*Header, error) {
	magic := make([]byte, len(indexMagic)+1)
	if _, err := io.ReadFull(r, magic); err != nil {
		return nil, fmt.Errorf("magic: %w", readErr(err))
	}
	if string(magic[:len(indexMagic)]) != indexMagic {
		return nil, errors.New("not an xVault index (bad magic)")
	}
	if v := magic[len(indexMagic)]; v != indexVersion {
		return nil, fmt.Errorf("unknown index version %d (this agent reads version %d)", v, indexVersion)
	}
	n, err := readUvarint(r, "header length")
	if err != nil {
		return nil, err
	}
	if n > maxHeaderBytes {
		return nil, fmt.Errorf("header of %d bytes exceeds %d", n, maxHeaderBytes)
	}
	hj := make([]byte, n)
	if _, err := io.ReadFull(r, hj); err != nil {
		return nil, fmt.Errorf("header: %w", readErr(err))
	}
	var h Header
	if err := json.Unmarshal(hj, &h); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if err := checkHeader(&h); err != nil {
		return nil, err
	}
	if got := (IDs{h.TenantID, h.SourceID, h.SnapshotID}); got != want {
		return nil, fmt.Errorf("header names tenant %q source %q snapshot %q, want tenant %q source %q snapshot %q",
			got.TenantID, got.SourceID, got.SnapshotID, want.TenantID, want.SourceID, want.SnapshotID)
	}
	return &h, nil
}

func checkHeader(h *Header) error {
	switch {
	case h.TenantID == "" || h.SourceID == "" || h.SnapshotID == "":
		return errors.New("header: tenant_id, source_id and snapshot_id are required")
	case h.Listing != ListingFind && h.Listing != ListingSFTP:
		return fmt.Errorf("header: unknown listing %q (want %q or %q)", h.Listing, ListingFind, ListingSFTP)
	case h.ChainPosition < 0:
		return fmt.Errorf("header: negative chain_position %d", h.ChainPosition)
	case h.Entries < 0:
		return fmt.Errorf("header: negative entries %d", h.Entries)
	}
	return nil
}

func readTrailer(r *bufio.Reader, idx *Index) error {
	count, err := readUvarint(r, "record count")
	if err != nil {
		return err
	}
	n := uint64(len(idx.Records))
	if count != n || uint64(idx.Header.Entries) != n {
		return fmt.Errorf("count mismatch: %d records read, trailer says %d, header says %d",
			n, count, idx.Header.Entries)
	}
	if _, err := r.ReadByte(); err == nil {
		return errors.New("data after the end of the index")
	} else if err != io.EOF {
		return fmt.Errorf("after the end: %w", err)
	}
	return nil
}

// grow makes room for one more record: doubling, but not past the
// header's entry count (the final size of a good index), which is trusted
// only as far as records actually arrive.
func grow(recs []Record, entries int) []Record {
	if len(recs) < cap(recs) {
		return recs
	}
	n := max(2*cap(recs), 1024)
	if entries > cap(recs) && entries < n {
		n = entries
	}
	return slices.Grow(recs, n-len(recs))
}

// recordDecoder keeps the previous path for front coding and packs the
// decoded strings into shared chunks (one allocation per 64 KiB, not one
// per path).
type recordDecoder struct {
	r      *bufio.Reader
	path   []byte
	target []byte
	prev   string
	chunk  strings.Builder
}

// str returns b as a string stored in the current chunk. A strings.Builder
// never changes bytes it has handed out, so earlier strings stay valid.
func (d *recordDecoder) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if d.chunk.Cap()-d.chunk.Len() < len(b) {
		d.chunk = strings.Builder{}
		d.chunk.Grow(max(64<<10, len(b)))
	}
	at := d.chunk.Len()
	d.chunk.Write(b)
	return d.chunk.String()[at:]
}

func (d *recordDecoder) read(typ Type, i int) (Record, error) {
	rec := Record{Type: typ}
	if err := d.readPath(&rec); err != nil {
		return rec, err
	}
	flags, err := d.r.ReadByte()
	if err != nil {
		return rec, fmt.Errorf("flags: %w", readErr(err))
	}
	rec.Flags = flags
	if err := d.readFields(&rec); err != nil {
		return rec, err
	}
	if err := checkRecord(d.prev, i, &rec); err != nil {
		return rec, err
	}
	d.prev = rec.Path
	return rec, nil
}

func (d *recordDecoder) readPath(rec *Record) error {
	shared, err := readUvarint(d.r, "path prefix length")
	if err != nil {
		return err
	}
	suffix, err := readUvarint(d.r, "path suffix length")
	if err != nil {
		return err
	}
	if shared > uint64(len(d.path)) {
		return fmt.Errorf("path shares %d bytes with a previous path of %d", shared, len(d.path))
	}
	if suffix > maxPathBytes || shared+suffix > maxPathBytes {
		return fmt.Errorf("path longer than %d bytes", maxPathBytes)
	}
	d.path = slices.Grow(d.path[:shared], int(suffix))[:shared+suffix]
	if _, err := io.ReadFull(d.r, d.path[shared:]); err != nil {
		return fmt.Errorf("path: %w", readErr(err))
	}
	rec.Path = d.str(d.path)
	return nil
}

func (d *recordDecoder) readFields(rec *Record) error {
	var u [8]uint64
	names := [...]string{"size", "mtime", "ctime", "inode", "mode", "uid", "gid", "nlink"}
	for k, name := range names {
		var err error
		if name == "mtime" || name == "ctime" {
			var v int64
			v, err = readVarint(d.r, name)
			u[k] = uint64(v)
		} else {
			u[k], err = readUvarint(d.r, name)
		}
		if err != nil {
			return err
		}
	}
	if u[0] > math.MaxInt64 {
		return fmt.Errorf("size %d out of range", u[0])
	}
	for k := 4; k < 8; k++ {
		if u[k] > math.MaxUint32 {
			return fmt.Errorf("%s %d out of range", names[k], u[k])
		}
	}
	rec.Size, rec.MtimeNS, rec.CtimeNS, rec.Inode = int64(u[0]), int64(u[1]), int64(u[2]), u[3]
	rec.Mode, rec.UID, rec.GID, rec.Nlink = uint32(u[4]), uint32(u[5]), uint32(u[6]), uint32(u[7])
	return d.readTarget(rec)
}

func (d *recordDecoder) readTarget(rec *Record) error {
	n, err := readUvarint(d.r, "target length")
	if err != nil {
		return err
	}
	if n > maxTargetBytes {
		return fmt.Errorf("symlink target longer than %d bytes", maxTargetBytes)
	}
	if n == 0 {
		return nil
	}
	d.target = slices.Grow(d.target[:0], int(n))[:n]
	if _, err := io.ReadFull(d.r, d.target); err != nil {
		return fmt.Errorf("target: %w", readErr(err))
	}
	rec.Target = d.str(d.target)
	return nil
}

// checkRecord validates one record of a listing or an index; prev is the
// previous path in path order ("" for the first record).
func checkRecord(prev string, i int, r *Record) error {
	if i > 0 {
		switch c := strings.Compare(prev, r.Path); {
		case c == 0:
			return fmt.Errorf("path %q listed twice", r.Path)
		case c > 0:
			return fmt.Errorf("paths out of order (%q after %q)", r.Path, prev)
		}
	}
	return checkFields(r)
}

// checkFields validates a record's fields (not its order).
func checkFields(r *Record) error {
	if err := archive.ValidName(r.Path); err != nil {
		return err
	}
	switch {
	case r.Type != TypeFile && r.Type != TypeDir && r.Type != TypeSymlink:
		return fmt.Errorf("%q: unknown type %q", r.Path, byte(r.Type))
	case r.Flags&^(FlagReread|FlagExec) != 0:
		return fmt.Errorf("%q: unknown flags %#x", r.Path, r.Flags)
	case r.Mode > 0o7777:
		return fmt.Errorf("%q: mode %#o above 07777", r.Path, r.Mode)
	case r.Size < 0 || (r.Size != 0 && r.Type != TypeFile):
		return fmt.Errorf("%q: size %d not allowed for type %q", r.Path, r.Size, byte(r.Type))
	case r.Target != "" && r.Type != TypeSymlink:
		return fmt.Errorf("%q: link target on a non-symlink", r.Path)
	case strings.IndexByte(r.Target, 0) >= 0:
		return fmt.Errorf("%q: symlink target contains a NUL byte", r.Path)
	case r.Flags&FlagExec == 0 && (r.CtimeNS != 0 || r.Inode != 0 || r.Nlink != 0):
		return fmt.Errorf("%q: ctime, inode or nlink without the exec flag", r.Path)
	}
	return nil
}

func readUvarint(r *bufio.Reader, what string) (uint64, error) {
	v, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, readErr(err))
	}
	return v, nil
}

func readVarint(r *bufio.Reader, what string) (int64, error) {
	v, err := binary.ReadVarint(r)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, readErr(err))
	}
	return v, nil
}

// errTruncated is wrapped when the index ends early.
var errTruncated = errors.New("truncated (the index ends early)")

func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errTruncated
	}
	return err
}
