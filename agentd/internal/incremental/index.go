package incremental

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
)

// Listing kinds: how the entries of a snapshot were listed.
const (
	ListingFind = "find" // exec session, GNU find -printf: ns times, ctime, inode, nlink
	ListingSFTP = "sftp" // SFTP walk: whole-second mtimes, no ctime/inode/nlink
)

// IDs name the snapshot an index belongs to. They key the cache path and
// must equal the ids in the index header: a file whose header names other
// ids is unreadable.
type IDs struct {
	TenantID   string
	SourceID   string
	SnapshotID string
}

// Header is the JSON header of an index (docs/incremental.md, section 1).
type Header struct {
	TenantID         string    `json:"tenant_id"`
	SourceID         string    `json:"source_id"`
	SnapshotID       string    `json:"snapshot_id"`
	ParentSnapshotID string    `json:"parent_snapshot_id"` // "" for a full
	FullSnapshotID   string    `json:"full_snapshot_id"`   // the chain's full (itself for a full)
	ChainPosition    int       `json:"chain_position"`     // 0 for the full
	ConfigHash       string    `json:"config_hash"`        // see ConfigHash
	Listing          string    `json:"listing"`            // ListingFind or ListingSFTP
	TarFlavour       string    `json:"tar_flavour"`        // "gnu", "bsdtar", "" (sftp)
	ListingStart     time.Time `json:"listing_start"`      // server clock (find), agent clock (sftp)
	Entries          int       `json:"entries"`            // number of records
	CreatedAt        time.Time `json:"created_at"`
}

// Index is the list of every archived entry of a snapshot, sorted by path
// bytes (strictly increasing: no duplicates).
type Index struct {
	Header  Header
	Records []Record
}

// File layout of the plain (decrypted, decompressed) index.
const (
	indexMagic     = "XVIDX\x00"
	indexVersion   = 1
	maxHeaderBytes = 1 << 20 // a header is a few hundred bytes
	maxPathBytes   = 1 << 16 // far above PATH_MAX; bounds hostile input
	maxTargetBytes = 1 << 16
	zstdWindow     = 4 << 20
	maxZstdWindow  = 8 << 20
)

// Encode writes idx as age(zstd(plain index)) encrypted to r: the agent's
// own recipient, and for a chain in a bucket every agent that can reach it
// (any of them may continue the chain). Records must be sorted and valid (as Decode would accept
// them); Header.Entries is written as len(Records).
func Encode(w io.Writer, idx *Index, r ...age.Recipient) error {
	what := "encode index of snapshot " + idx.Header.SnapshotID
	aw, err := age.Encrypt(w, r...)
	if err != nil {
		return fmt.Errorf("%s: age: %w", what, err)
	}
	zw, err := zstd.NewWriter(aw, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(zstdWindow))
	if err != nil {
		return fmt.Errorf("%s: zstd: %w", what, err)
	}
	bw := bufio.NewWriterSize(zw, 64<<10)
	if err := encodePlain(bw, idx); err != nil {
		zw.Close()
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := bw.Flush(); err != nil {
		zw.Close()
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("%s: zstd: %w", what, err)
	}
	if err := aw.Close(); err != nil {
		return fmt.Errorf("%s: age: %w", what, err)
	}
	return nil
}

// Decode reads an index written by Encode, decrypting it with id. It
// refuses an unknown version, bad records (paths out of order or listed
// twice, invalid names, modes above 07777, unknown types), a count
// mismatch, truncated data and a header whose ids differ from want.
func Decode(r io.Reader, id age.Identity, want IDs) (*Index, error) {
	what := "index of snapshot " + want.SnapshotID
	ar, err := age.Decrypt(r, id)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			return nil, fmt.Errorf("%s: age: %w (was this agent re-enrolled?)", what, err)
		}
		return nil, fmt.Errorf("%s: age: %w (not an index encrypted to this agent, or damaged)", what, err)
	}
	zr, err := zstd.NewReader(ar, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(maxZstdWindow))
	if err != nil {
		return nil, fmt.Errorf("%s: zstd: %w", what, err)
	}
	defer zr.Close()
	idx, err := decodePlain(bufio.NewReaderSize(zr, 64<<10), want)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return idx, nil
}
