ALTER COLLECTION docs SET (ef_search = 128, auto_reindex = true)
