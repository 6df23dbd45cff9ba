SELECT id, similarity() AS bm25 FROM docs WHERE MATCH 'vector search' AND lang = 'en' LIMIT 5
