package objstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/xvault/xvault/agentd/internal/storage"
)

// Restores of download_via bucket are written back to the bucket as
//
//	{prefix}restores/{tenant}/{restore}.{expiry}/{file name}
//
// where expiry is the Unix second the presigned link stops working: it is
// in the key so that a later restore job can delete expired restores with
// one listing, without a HEAD per object or a clock kept anywhere else.

// RestoresPrefix returns {prefix}restores/{tenant}/, below which the
// tenant's restore objects live.
func (s *Store) RestoresPrefix(tenantID string) (string, error) {
	if err := checkID("tenant", tenantID); err != nil {
		return "", err
	}
	return s.prefix + "restores/" + tenantID + "/", nil
}

// RestoreKey returns the key of one restore's file, valid until expires,
// and the expiry the key carries (expires rounded up to the second).
func (s *Store) RestoreKey(tenantID, restoreID string, expires time.Time, fileName string) (string, time.Time, error) {
	p, err := s.RestoresPrefix(tenantID)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := checkID("restore", restoreID); err != nil {
		return "", time.Time{}, err
	}
	if err := validSegment(fileName); err != nil {
		return "", time.Time{}, fmt.Errorf("%w: restore file name: %v", ErrInvalidKey, err)
	}
	sec := expires.Unix()
	if expires.After(time.Unix(sec, 0)) {
		sec++
	}
	key := p + restoreID + "." + strconv.FormatInt(sec, 10) + "/" + fileName
	if err := s.checkKey(key); err != nil {
		return "", time.Time{}, err
	}
	return key, time.Unix(sec, 0), nil
}

// restoreExpiry parses the expiry out of a key below RestoresPrefix; false
// for a key this package did not write.
func restoreExpiry(prefix, key string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return time.Time{}, false
	}
	dir, file, ok := strings.Cut(rest, "/")
	if !ok || file == "" || strings.Contains(file, "/") {
		return time.Time{}, false
	}
	i := strings.LastIndexByte(dir, '.')
	if i <= 0 || checkID("restore", dir[:i]) != nil {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(dir[i+1:], 10, 64)
	if err != nil || sec <= 0 {
		return time.Time{}, false
	}
	return time.Unix(sec, 0), true
}

// DeleteExpiredRestores deletes the tenant's restore objects whose link
// expired at or before now, and aborts the unfinished multipart uploads
// below the tenant's restores initiated before staleBefore (left by an
// agent that died mid-restore). Objects whose key it did not write are
// left alone. It returns how many objects it deleted and uploads it
// aborted; on error, what it did until then.
func (s *Store) DeleteExpiredRestores(ctx context.Context, tenantID string, now, staleBefore time.Time) (deleted, aborted int, err error) {
	prefix, err := s.RestoresPrefix(tenantID)
	if err != nil {
		return 0, 0, err
	}
	objs, err := s.List(ctx, prefix)
	if err != nil {
		return 0, 0, err
	}
	var errs []error
	for _, o := range objs {
		exp, ok := restoreExpiry(prefix, o.Key)
		if !ok || exp.After(now) {
			continue
		}
		if err := s.Delete(ctx, o.Key); err != nil {
			errs = append(errs, err)
			continue
		}
		deleted++
	}
	aborted, err = s.AbortStale(ctx, prefix, staleBefore)
	return deleted, aborted, errors.Join(append(errs, err)...)
}

// checkID checks one id as storage.SnapshotIDs does (the error matches
// storage.ErrInvalidID).
func checkID(what, id string) error {
	ids := storage.SnapshotIDs{TenantID: id, SourceID: "x", SnapshotID: "x"}
	if err := ids.Validate(); err != nil {
		return fmt.Errorf("%s id: %w", what, err)
	}
	return nil
}

// DeleteRestore deletes the objects and aborts the unfinished uploads of
// one restore (whatever expiry its key carries): a restore the hub did not
// accept leaves nothing behind.
func (s *Store) DeleteRestore(ctx context.Context, tenantID, restoreID string) error {
	p, err := s.RestoresPrefix(tenantID)
	if err != nil {
		return err
	}
	if err := checkID("restore", restoreID); err != nil {
		return err
	}
	objs, err := s.List(ctx, p+restoreID+".")
	if err != nil {
		return err
	}
	for _, o := range objs {
		if _, ok := restoreExpiry(p, o.Key); !ok || !strings.HasPrefix(o.Key, p+restoreID+".") {
			continue
		}
		if err := s.Delete(ctx, o.Key); err != nil {
			return err
		}
	}
	_, err = s.AbortStale(ctx, p+restoreID+".", time.Now().Add(time.Hour))
	return err
}
