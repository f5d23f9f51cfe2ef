"""The shared curriculum: its versions, the drafts of the next one, and local toning.

`versions` reads a curriculum file (TOML), validates it and loads it into the database as an
immutable version (`sync_directory`, `sync_file`); `drafts` edits the next version in the
browser and writes it back out as a file; `toning` holds a municipality's own description of a
shared profile and its own competences.

Pure: reading and validating a file in `versions` (`read_file`, `validate`, `content_hash`) —
no database. Loading, drafts and toning write the database and are audited.
"""
