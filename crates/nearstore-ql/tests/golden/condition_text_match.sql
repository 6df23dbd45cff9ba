SELECT * FROM docs WHERE content MATCH 'vector search' OR title MATCH $q
