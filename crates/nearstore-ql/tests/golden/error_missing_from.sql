SELECT id, title
WHERE x = 1
