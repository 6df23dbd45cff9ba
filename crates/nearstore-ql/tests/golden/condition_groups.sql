SELECT * FROM t WHERE (a = 1 OR b = 2) AND NOT (c = 3 AND (d = 4)) AND ((e = 5))
