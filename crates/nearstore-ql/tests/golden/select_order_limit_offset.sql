SELECT * FROM docs ORDER BY created_at DESC, title ASC, id LIMIT 20 OFFSET 40
