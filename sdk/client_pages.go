package sdk

import (
	"context"
	"fmt"
	"iter"
)

// All walks every page of a list: list is called with "" and then with each
// page's NextCursor until the last page. Iteration stops at the first error,
// which is yielded with a zero item.
//
//	for src, err := range sdk.All(ctx, func(ctx context.Context, cursor string) (*sdk.Page[sdk.Source], error) {
//		return c.ListSources(ctx, sdk.SourceListOptions{ListOptions: sdk.ListOptions{Limit: 500, Cursor: cursor}})
//	}) { … }
func All[T any](ctx context.Context, list func(ctx context.Context, cursor string) (*Page[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		cursor := ""
		seen := map[string]bool{}
		for {
			page, err := list(ctx, cursor)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, item := range page.Items {
				if !yield(item, nil) {
					return
				}
			}
			if page.NextCursor == "" {
				return
			}
			if seen[page.NextCursor] {
				yield(zero, fmt.Errorf("list: the hub returned cursor %q twice", page.NextCursor))
				return
			}
			seen[page.NextCursor] = true
			cursor = page.NextCursor
		}
	}
}
