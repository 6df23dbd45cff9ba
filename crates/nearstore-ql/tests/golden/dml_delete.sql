DELETE FROM docs WHERE created_at < NOW() - INTERVAL '30 days' OR lang IS NULL
