SELECT * FROM docs WHERE x = 12abc
