DROP INDEX ON docs (lang)
