drop text index on docs (title)
