SELECT * FROM t WHERE a = 1 AND b != 'x' AND c <> 2.5 AND d < -3 AND e <= 1e10 AND f > TRUE AND g >= NULL AND created_at > '2024-01-01T00:00:00Z'
