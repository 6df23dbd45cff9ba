SELECT * FROM docs WHERE x = 1e+
