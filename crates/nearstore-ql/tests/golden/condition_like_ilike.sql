SELECT * FROM t WHERE title LIKE 'vec%' AND name NOT LIKE '_x%' AND city ILIKE 'paris' AND code NOT ILIKE $p
