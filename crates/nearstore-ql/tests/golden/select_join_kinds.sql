SELECT * FROM a JOIN b USING (id) LEFT OUTER JOIN c ON a.x = c.y RIGHT JOIN d USING (k, j) FULL OUTER JOIN e ON e.id = a.id LEFT JOIN f ON f.z = a.z
