// Package archive owns the xVault artifact format: how one snapshot's data is
// written to, and read back from, a single file that anyone holding the
// tenant's age identity can open without xVault.
//
// # Format
//
// An artifact (backup.tar.zst.age) is, from the outside in:
//
//   - a standard age v1 file (https://age-encryption.org/v1) encrypted to the
//     tenant's X25519 recipient,
//   - whose plaintext is one zstd stream (RFC 8878, window of at most 8 MiB):
//     a sequence of frames, compressed ones (content checksums on) and, for
//     data that does not compress or with Options.NoCompression, frames of raw
//     blocks; every zstd decoder reads the sequence as one stream,
//   - whose content is a POSIX PAX tar archive (USTAR headers, with PAX records
//     where a field needs them: long or non-ASCII names, sub-second mtimes, large
//     ids or sizes).
//
// Entry names are slash-separated, relative and clean ("var/www/index.html"),
// never absolute, never containing "..": see [ValidName]. Directories carry
// the customary trailing slash inside the tar. Entry types are regular files,
// directories, symlinks (targets kept as they were, never followed), hard
// links, character and block devices and FIFOs.
//
// Next to the artifact live manifest.json ([Manifest]: counts, sizes, sha256
// of the artifact bytes, recipient, timings) and meta.json ([Meta]: the ids).
//
// # Opening an artifact without xVault
//
//	age -d -i key.txt backup.tar.zst.age | zstd -d | tar -x
//	sha256sum backup.tar.zst.age     # equals manifest.json "sha256"
//
// where key.txt holds the tenant identity (AGE-SECRET-KEY-1…).
//
// # In Go
//
// [NewWriter] builds an artifact in one streaming pass with bounded memory
// (tar → zstd → age → sha256 → destination). [NewReader] reads one back,
// streaming, and turns any truncation, tampering, trailing data or sha256
// mismatch into an error instead of a quiet end of archive. [VerifyFile]
// checks an artifact end to end. [ChainReader] assembles the tree of an
// incremental snapshot (layout 3, GNU.dumpdir records) from the artifacts of
// its chain; [RefuseIncremental] keeps single-artifact readers from taking
// an incremental for a whole tree.
//
// This package imports no xVault server code; connectors, the agent's
// pipeline and restores all build on it.
package archive

// File names inside a snapshot directory.
const (
	ArtifactName = "backup.tar.zst.age"
	ManifestName = "manifest.json"
	MetaName     = "meta.json"
)

// FormatVersion is the artifact format version recorded in [Manifest].
const FormatVersion = 1

// Compression is the compression name recorded in [Manifest].
const Compression = "zstd"
