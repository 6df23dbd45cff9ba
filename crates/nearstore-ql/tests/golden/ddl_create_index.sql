CREATE INDEX ON docs (meta.lang)
