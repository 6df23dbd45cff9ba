-- golden: max_query_bytes=40
SELECT * FROM docs WHERE title = 'a long title'
