package store

import "context"

// IsBookmarked reports whether the owner bookmarked the post, so that an
// import of bookmarks.csv can tell a new bookmark from one in place.
func (db *DB) IsBookmarked(ctx context.Context, postID int64) (bool, error) {
	n, err := countWhere(ctx, db.r, `SELECT count(*) FROM bookmarks WHERE post_id = ?`, postID)
	return n > 0, err
}
