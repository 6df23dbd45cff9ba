SELECT * FROM t WHERE a = 1 OR b = 2 AND c = 3 OR NOT d = 4 AND NOT NOT e = 5
