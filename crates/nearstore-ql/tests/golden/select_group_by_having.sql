SELECT category, COUNT(*) AS n, SUM(price), AVG(price), MIN(price), MAX(price), FIRST(title) FROM products GROUP BY category, meta.kind HAVING COUNT(*) > 5 AND AVG(price) <= 10.5 OR MAX(price) = 3
