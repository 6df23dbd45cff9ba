EXPLAIN ANALYZE SELECT * FROM docs WHERE lang = 'en' AND vector NEAR $v
