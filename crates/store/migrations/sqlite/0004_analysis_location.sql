-- The directory an analysis read, kept on the analysis itself: its repository's location
-- moves with later submissions (a new upload of the same repository), but the tools that
-- read an analysis's source (function_source, search_code) need the tree it was made from.
ALTER TABLE analyses ADD COLUMN location TEXT;
