SELECT * FROM docs WHERE (a = 1 OR b = 2
